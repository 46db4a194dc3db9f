"""Redaction and recording rules: the ``[privacy]`` table of the user's config and of
the repository's ``.prtrace.toml``.

Two places, because two people decide: the developer (``$XDG_CONFIG_HOME/
prtrace/config.toml``, ``[privacy]``) and the project (``.prtrace.toml`` at the
repository root, same keys under ``[privacy]``, checked in so that the whole team
shares its patterns and exclusions). They are merged so that a repository can
only add protection: lists are joined, and a switch that protects (``redact_emails``,
``hash_paths``, ``local_only``…) is on if either side turns it on.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

import msgspec

from prtrace.errors import ConfigError

MARKER_FILE = ".prtrace.toml"
"""At a repository's root: it opts the repository in to recording and holds its rules."""


class PrivacyConfig(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Every knob of docs/privacy.md."""

    redact_secrets: bool = True
    """Off only for a throw-away repository: the detectors are the point of this module."""
    redact_emails: bool = False
    redact_usernames: bool = True
    """``/home/alice/…`` → ``/home/<redacted:user>/…`` in paths, commands and output."""
    patterns: dict[str, str] = msgspec.field(default_factory=dict)
    """Project rules: label → regex (a capture group, if any, is what gets replaced)."""
    allowlist: list[str] = msgspec.field(default_factory=list)
    """Regexes; a found value that matches one in full is kept (test fixtures, examples)."""
    require_opt_in: bool = True
    """Record only in repositories with ``.prtrace.toml``, an active ``prtrace record``
    session, or a path listed in ``repositories``."""
    repositories: list[str] = msgspec.field(default_factory=list)
    """Folders (globs allowed, ``~`` expanded) whose repositories are opted in."""
    include: list[str] = msgspec.field(default_factory=list)
    """Gitignore-style globs: when set, only events on matching files are recorded."""
    exclude: list[str] = msgspec.field(default_factory=list)
    """Gitignore-style globs of files never recorded (added to the defaults)."""
    exclude_commands: list[str] = msgspec.field(default_factory=list)
    """Shell globs over the whole command line (``vault *``, ``*aws configure*``)."""
    hash_paths: bool = False
    """Replace file paths by keyed hashes (QA cannot apply such a trace's patches)."""
    hash_repository: bool = False
    """Send the repository's URL as a keyed hash."""
    local_only: bool = False
    """Never upload: events stay in ``.prtrace/spool.db``."""


DEFAULT_EXCLUDE = [
    ".env",
    ".env.*",
    "*.pem",
    "*.key",
    "*.p12",
    "*.pfx",
    "id_rsa*",
    "id_ed25519*",
    "id_ecdsa*",
    ".netrc",
    ".pgpass",
    ".git-credentials",
    ".aws/credentials",
    ".docker/config.json",
    ".prtrace/",
]
"""Files whose whole content is credentials: never recorded, whatever the detectors say."""

_JOINED = ("patterns", "allowlist", "repositories", "include", "exclude", "exclude_commands")
_PROTECTIVE = (
    "redact_emails",
    "redact_usernames",
    "hash_paths",
    "hash_repository",
    "local_only",
)


def _table(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except (FileNotFoundError, NotADirectoryError, PermissionError):
        return {}
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from None
    table = data.get("privacy", {})
    if not isinstance(table, dict):  # a config error, reported like invalid TOML
        raise ConfigError(f"{path}: [privacy] must be a table")
    return table


def _convert(table: dict[str, Any], where: Path | str) -> PrivacyConfig:
    try:
        return msgspec.convert(table, PrivacyConfig)
    except msgspec.ValidationError as exc:
        raise ConfigError(f"{where}: [privacy]: {exc}") from None


def user_config_file() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(base) / "prtrace" / "config.toml"


def _env_overrides(environ: dict[str, str]) -> dict[str, Any]:
    """``PRTRACE_PRIVACY_<KEY>`` for the switches (``1``/``true``/``0``/``false``)."""
    out: dict[str, Any] = {}
    for name, field_type in PrivacyConfig.__annotations__.items():
        raw = environ.get(f"PRTRACE_PRIVACY_{name.upper()}")
        if raw is None or field_type != "bool":
            continue
        out[name] = raw.strip().lower() in ("1", "true", "yes", "on")
    return out


def merge(user: PrivacyConfig, project: PrivacyConfig | None) -> PrivacyConfig:
    """The repository adds protection to the user's settings, never removes it."""
    if project is None:
        return user
    values = msgspec.structs.asdict(user)
    for name in _JOINED:
        ours, theirs = values[name], getattr(project, name)
        if isinstance(ours, dict):
            values[name] = {**ours, **theirs}
        else:
            values[name] = [*ours, *(v for v in theirs if v not in ours)]
    for name in _PROTECTIVE:
        values[name] = values[name] or getattr(project, name)
    return PrivacyConfig(**values)


def load_privacy_config(
    root: Path | None = None, environ: dict[str, str] | None = None
) -> PrivacyConfig:
    """User config (+ ``PRTRACE_PRIVACY_*``), then the repository's ``.prtrace.toml``."""
    environ = dict(os.environ) if environ is None else environ
    path = user_config_file()
    user_table = {**_table(path), **_env_overrides(environ)}
    user = _convert(user_table, path)
    project = None
    if root is not None:
        marker = root / MARKER_FILE
        project = _convert(_table(marker), marker)
    return merge(user, project)
