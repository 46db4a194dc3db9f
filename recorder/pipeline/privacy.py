"""The recorder's privacy step: the one place every event passes before it is written.

:class:`Privacy` is held by :class:`prtrace.recorder.pipeline.emitter.EventEmitter`, so every
recorder — the LSP worker, and the terminal, watcher and git recorders that
write through an emitter — gets the same treatment without knowing about it:

1. **may we record here at all?** Only in an opted-in workspace (a
   ``.prtrace.toml`` at its root, an active ``prtrace record`` session, a
   folder listed in the user's ``repositories``, or the folder the developer
   named with ``PRTRACE_WORKSPACE``), and not while
   ``.prtrace/paused`` exists (``prtrace record pause``). Otherwise the event is
   dropped before it is encoded, and no spool is created for it;
2. **which events?** Files matching the exclude globs (defaults:
   ``.env``, keys, credential files) or not matching the include globs, and
   commands matching ``exclude_commands``, are dropped; list fields
   (``files``, ``targets``) lose their excluded entries;
3. **what may they say?** Every string is redacted
   (:mod:`prtrace.redaction.events`); with ``hash_paths`` file paths become
   keyed hashes.

Documents are special: the LSP recorder diffs and hashes its copy of each open
document, so it asks :meth:`Privacy.document` for the redacted text and diffs
*that* — the hash chain and replay then hold over the redacted text.
"""

from __future__ import annotations

import fnmatch
import hashlib
import hmac
import os
import secrets
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec

from prtrace.events import _Event
from prtrace.recorder.session.workspace import ENV_WORKSPACE, STATE_DIR
from prtrace.redaction.config import (
    DEFAULT_EXCLUDE,
    MARKER_FILE,
    PrivacyConfig,
    load_privacy_config,
)
from prtrace.redaction.engine import Redactor
from prtrace.redaction.events import redact_builtins

if TYPE_CHECKING:
    import pathspec

PAUSE_FILE = "paused"
PATH_KEY_FILE = "path-key"
_encode = msgspec.json.Encoder().encode
_PATH_KEYS = ("path", "from_path")
_PATH_LISTS = ("files",)


def pause_path(root: Path) -> Path:
    return root / STATE_DIR / PAUSE_FILE


def is_paused(root: Path) -> bool:
    return os.path.exists(pause_path(root))


def set_paused(root: Path, paused: bool) -> None:
    """``prtrace record pause|resume``: a file, so every recorder process sees it at once."""
    path = pause_path(root)
    if paused:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        ignore = path.parent / ".gitignore"
        if not ignore.exists():
            ignore.write_text("*\n")
        path.write_text("paused by prtrace record pause\n")
    else:
        path.unlink(missing_ok=True)


def opt_in_reason(root: Path, config: PrivacyConfig) -> str | None:
    """Why this workspace may be recorded, or None if it has not opted in."""
    if not config.require_opt_in:
        return "require_opt_in = false"
    if (root / MARKER_FILE).is_file():
        return MARKER_FILE
    if (root / STATE_DIR / "session.json").is_file():
        return "prtrace record start"
    named = os.environ.get(ENV_WORKSPACE)
    if named and Path(named).resolve() == root.resolve():
        return ENV_WORKSPACE
    real = str(root.resolve())
    for pattern in config.repositories:
        expanded = os.path.expanduser(pattern).rstrip("/")
        if real == expanded or fnmatch.fnmatch(real, expanded):
            return f"repositories: {pattern}"
    return None


def _spec(patterns: list[str]) -> pathspec.PathSpec | None:
    import pathspec

    return pathspec.PathSpec.from_lines("gitignore", patterns) if patterns else None


class Privacy:
    """What a recorder of one workspace may record, and how it is redacted."""

    def __init__(self, root: Path | None, config: PrivacyConfig | None = None) -> None:
        self.root = root
        self.config = config or load_privacy_config(root)
        self.redactor = Redactor(self.config)
        self.exclude = _spec([*DEFAULT_EXCLUDE, *self.config.exclude])
        self.include = _spec(self.config.include)
        self._path_key: bytes | None = None
        self.dropped = 0
        """Events not recorded (paused, not opted in, excluded): for status and tests."""

    @classmethod
    def for_workspace(cls, root: Path) -> Privacy:
        return cls(root)

    # --- may we record? -------------------------------------------------------------

    def opted_in(self) -> bool:
        return self.root is not None and opt_in_reason(self.root, self.config) is not None

    def recording(self) -> bool:
        """Checked for every event (two stats): a pause takes effect at once."""
        return self.opted_in() and not is_paused(self.root)  # type: ignore[arg-type]

    def path_allowed(self, path: str) -> bool:
        if self.exclude is not None and self.exclude.match_file(path):
            return False
        return self.include is None or self.include.match_file(path)

    def command_allowed(self, command: str) -> bool:
        return not any(fnmatch.fnmatch(command, p) for p in self.config.exclude_commands)

    # --- what do we record? -----------------------------------------------------------

    def document(self, text: str) -> str:
        """The redacted text of an open document (what edits diff and hash)."""
        return self.redactor.text(text)

    def encode(self, event: _Event) -> bytes | None:
        """The event's JSON as it may be stored, or None if it must not be recorded."""
        data: dict[str, Any] = msgspec.to_builtins(event)
        path = data.get("path")
        if isinstance(path, str) and not self.path_allowed(path):
            self.dropped += 1
            return None
        from_path = data.get("from_path")
        if isinstance(from_path, str) and not self.path_allowed(from_path):
            self.dropped += 1
            return None
        cmd = data.get("cmd")
        if isinstance(cmd, str):
            line = " ".join([cmd, *data.get("args", [])])
            if not (self.command_allowed(line) and self.command_allowed(cmd)):
                self.dropped += 1
                return None
        self._filter_lists(data)
        if self.config.hash_paths:
            self._hash_paths(data)
        redact_builtins(data, self.redactor)
        return _encode(data)

    def _filter_lists(self, data: dict[str, Any]) -> None:
        for key in _PATH_LISTS:
            items = data.get(key)
            if isinstance(items, list):
                data[key] = [p for p in items if not isinstance(p, str) or self.path_allowed(p)]
        targets = data.get("targets")
        if isinstance(targets, list):
            data["targets"] = [t for t in targets if self.path_allowed(t.get("path", ""))]

    def struct(self, obj: Any) -> Any:
        """A request body (artifacts, task metadata) with its strings redacted."""
        from prtrace.redaction.events import redact_struct

        return redact_struct(obj, self.redactor)

    def metadata(self, developer: Any, task: Any, environment: Any) -> tuple[Any, Any, Any]:
        """What ``prtrace record start`` sends: redacted; the repository hashed if asked."""
        if self.config.hash_repository and task.repository:
            task = msgspec.structs.replace(task, repository=self.hash_name(task.repository))
        return (
            self.struct(developer),
            self.struct(task),
            None if environment is None else self.struct(environment),
        )

    # --- hashing paths ---------------------------------------------------------------------

    def hash_name(self, value: str) -> str:
        """A keyed hash (the key never leaves ``.prtrace/``), extension kept for readers."""
        digest = hmac.new(self._key(), value.encode(), hashlib.sha256).hexdigest()[:16]
        suffix = Path(value).suffix if "/" in value or "." in value else ""
        return f"h-{digest}{suffix if len(suffix) <= 8 else ''}"

    def _key(self) -> bytes:
        if self._path_key is None:
            if self.root is None:
                self._path_key = secrets.token_bytes(32)
            else:
                path = self.root / STATE_DIR / PATH_KEY_FILE
                try:
                    self._path_key = bytes.fromhex(path.read_text().strip())
                except (OSError, ValueError):
                    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
                    key = secrets.token_bytes(32)
                    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                    with os.fdopen(fd, "w") as fh:
                        fh.write(key.hex())
                    self._path_key = key
        return self._path_key

    def _hash_paths(self, data: dict[str, Any]) -> None:
        originals: dict[str, str] = {}
        for key in _PATH_KEYS:
            value = data.get(key)
            if isinstance(value, str):
                data[key] = originals.setdefault(value, self.hash_name(value))
        for key in _PATH_LISTS:
            if isinstance(data.get(key), list):
                data[key] = [originals.setdefault(p, self.hash_name(p)) for p in data[key]]
        for target in data.get("targets", []) or []:
            target["path"] = originals.setdefault(target["path"], self.hash_name(target["path"]))
        if isinstance(data.get("cwd"), str):
            data["cwd"] = self.hash_name(data["cwd"])
        patch = data.get("patch_unified")
        if isinstance(patch, str):
            for value, hashed in originals.items():
                patch = patch.replace(f"--- a/{value}\n", f"--- a/{hashed}\n").replace(
                    f"+++ b/{value}\n", f"+++ b/{hashed}\n"
                )
            data["patch_unified"] = patch
