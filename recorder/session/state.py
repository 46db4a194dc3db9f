"""The recording session of a workspace: ``.prtrace/session.json``.

``prtrace record start`` creates the trace on the backend and writes what every
recorder process needs to upload to it — ``trace_id``, the trace's
``upload_token`` and the backend ``url`` — into the workspace, readable only by
its owner (mode 0600; ``.prtrace/`` ignores itself in git). Processes read the
file each time they upload, so a proxy started before ``record start`` begins
uploading as soon as there is a session, and one running after ``record stop``
keeps its events for the next session.
"""

from __future__ import annotations

import os
from pathlib import Path

import msgspec

from prtrace.recorder.session.workspace import state_dir

SESSION_FILE = "session.json"


class Session(msgspec.Struct, kw_only=True, omit_defaults=True):
    trace_id: str
    upload_token: str
    url: str
    created_at: str | None = None
    repository: str | None = None
    commit: str | None = None
    branch: str | None = None
    task: str | None = None
    developer: str | None = None

    def public(self) -> dict[str, object]:
        """The session without its secret, for ``record status``."""
        data = msgspec.to_builtins(self)
        data.pop("upload_token", None)
        return data


def session_path(root: Path) -> Path:
    return state_dir(root) / SESSION_FILE


def load_session(root: Path) -> Session | None:
    try:
        data = session_path(root).read_bytes()
    except (FileNotFoundError, NotADirectoryError):
        return None
    try:
        return msgspec.json.decode(data, type=Session)
    except msgspec.MsgspecError:
        return None


def save_session(root: Path, session: Session) -> Path:
    """Write atomically (temp file + rename), created 0600 so the token is never exposed."""
    path = session_path(state_dir(root, create=True).parent)
    tmp = path.with_name(f".{SESSION_FILE}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, msgspec.json.format(msgspec.json.encode(session), indent=2) + b"\n")
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    return path


def clear_session(root: Path, session: Session) -> None:
    """End the session: keep its record (without the token) under ``.prtrace/sessions/``."""
    archive = state_dir(root) / "sessions"
    archive.mkdir(mode=0o700, exist_ok=True)
    (archive / f"{session.trace_id}.json").write_bytes(msgspec.json.encode(session.public()))
    current = load_session(root)
    if current is not None and current.trace_id == session.trace_id:
        session_path(root).unlink(missing_ok=True)
