"""What every ``prtrace setup`` target shares: the context, the result, the safe writes.

A target changes files the user owns (``~/.bashrc``, ``.claude/settings.json``,
an editor's ``init.el``). Three rules keep that safe, and they are written once here:

- **Idempotent**: prtrace's part of a text file sits between two marker lines
  (:func:`put_block`); running setup again rewrites that block in place.
  Structured files (JSON) are merged key by key (:func:`merge_json`).
- **Never lose the user's settings**: a file is backed up once, to
  ``<name>.prtrace-backup``, before prtrace first changes it; a file prtrace
  cannot parse is left alone and the error says what to paste instead.
- **Undo removes only ours**: :func:`drop_block` deletes the marked block and
  nothing else.

``--print`` (``SetupContext.print_only``) writes nothing and reports what would be
written, for users who manage their dotfiles themselves.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

from prtrace.errors import ConfigError

ActionKind = Literal["created", "updated", "unchanged", "removed", "would-write", "note"]


@dataclass(frozen=True)
class SetupContext:
    """Where a target writes: the user's home and the repository being recorded."""

    home: Path
    repo: Path
    print_only: bool = False
    prtrace: str = "prtrace"
    """The command hooks and configs call (an absolute path when not on PATH)."""


@dataclass(frozen=True)
class Action:
    """One thing setup did (or, with ``--print``, would do) to one file."""

    kind: ActionKind
    path: Path | None
    detail: str = ""
    content: str | None = None
    """With ``would-write``: the text to paste."""


@dataclass
class Check:
    """One ``prtrace doctor`` finding: ``ok`` or what to do about it."""

    name: str
    ok: bool
    detail: str
    fix: str = ""
    required: bool = False
    """A missing required piece makes ``prtrace doctor`` exit non-zero."""


@dataclass
class Result:
    target: str
    actions: list[Action] = field(default_factory=list)


class Target(Protocol):
    """One thing ``prtrace setup`` can set up."""

    name: str

    def install(self, ctx: SetupContext) -> list[Action]: ...

    def undo(self, ctx: SetupContext) -> list[Action]: ...

    def check(self, ctx: SetupContext) -> list[Check]: ...


def default_command() -> str:
    """How configs call prtrace: this install's own script when it has one.

    An editor or a shell hook may run with a PATH that lacks the virtualenv
    prtrace was installed into, so the absolute path is the safe default.
    """
    beside = Path(sys.executable).with_name("prtrace")
    if beside.exists():
        return str(beside)
    return shutil.which("prtrace") or "prtrace"


# --- marked blocks in text files ---------------------------------------------------


def markers(tag: str, comment: str = "#") -> tuple[str, str]:
    return f"{comment} >>> prtrace {tag} >>>", f"{comment} <<< prtrace {tag} <<<"


def put_block(text: str, tag: str, body: str, comment: str = "#") -> str:
    """``text`` with prtrace's block for ``tag`` set to ``body`` (appended the first time)."""
    begin, end = markers(tag, comment)
    block = f"{begin}\n{body.rstrip()}\n{end}\n"
    start, stop = _block_span(text, begin, end)
    if start is None:
        sep = "" if not text or text.endswith("\n") else "\n"
        return f"{text}{sep}{block}"
    return text[:start] + block + text[stop:]


def drop_block(text: str, tag: str, comment: str = "#") -> str:
    """``text`` without prtrace's block for ``tag`` (unchanged if there is none)."""
    begin, end = markers(tag, comment)
    start, stop = _block_span(text, begin, end)
    return text if start is None else text[:start] + text[stop:]


def has_block(text: str, tag: str, comment: str = "#") -> bool:
    begin, end = markers(tag, comment)
    return _block_span(text, begin, end)[0] is not None


def _block_span(text: str, begin: str, end: str) -> tuple[int | None, int]:
    start = text.find(begin + "\n")
    if start < 0 or (start > 0 and text[start - 1] != "\n"):
        return None, 0
    close = text.find(end, start)
    if close < 0:
        raise ConfigError(f"prtrace's block opened by {begin!r} is never closed; fix it by hand")
    stop = close + len(end)
    if text[stop : stop + 1] == "\n":
        stop += 1
    return start, stop


# --- writing files safely ----------------------------------------------------------


def backup_path(path: Path) -> Path:
    return path.with_name(path.name + ".prtrace-backup")


def write_text(ctx: SetupContext, path: Path, new: str) -> Action:
    """Write ``new`` to ``path`` (backing the old file up once); report what happened."""
    old = path.read_text(encoding="utf-8") if path.exists() else None
    if old == new:
        return Action("unchanged", path)
    if ctx.print_only:
        return Action("would-write", path, content=new)
    path.parent.mkdir(parents=True, exist_ok=True)
    if old is not None and not backup_path(path).exists():
        shutil.copy2(path, backup_path(path))
    tmp = path.with_name(f".{path.name}.prtrace-{os.getpid()}")
    tmp.write_text(new, encoding="utf-8")
    if path.exists():
        shutil.copymode(path, tmp)
    os.replace(tmp, path)
    return Action("updated" if old is not None else "created", path)


def edit_text(ctx: SetupContext, path: Path, change: Callable[[str], str]) -> Action:
    """Apply ``change`` to the file's text ('' when absent) and write the result."""
    old = path.read_text(encoding="utf-8") if path.exists() else ""
    new = change(old)
    if not path.exists() and not new:
        return Action("unchanged", path)
    return write_text(ctx, path, new)


def merge_json(ctx: SetupContext, path: Path, change: Callable[[dict[str, Any]], None]) -> Action:
    """Load a JSON object file, let ``change`` edit it in place, write it back if it changed.

    A file that is not a JSON object is never overwritten: the ConfigError names
    it, and the user merges by hand (``--print`` shows what to add).
    """
    data: dict[str, Any] = {}
    if path.exists():
        try:
            loaded = json.loads(path.read_text(encoding="utf-8") or "{}")
        except (ValueError, UnicodeDecodeError) as exc:
            raise ConfigError(
                f"{path} is not valid JSON ({exc}); prtrace will not overwrite it: "
                "fix it, or run with --print and merge by hand"
            ) from exc
        if not isinstance(loaded, dict):
            raise ConfigError(f"{path} holds a JSON {type(loaded).__name__}, not an object")
        data = loaded
    before = json.dumps(data, sort_keys=True)
    change(data)
    if json.dumps(data, sort_keys=True) == before and path.exists():
        return Action("unchanged", path)
    return write_text(ctx, path, json.dumps(data, indent=2) + "\n")
