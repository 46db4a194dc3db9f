"""Starting, stopping and inspecting a workspace's recording session; notes.

These are what ``prtrace record start|stop|status`` and ``prtrace note`` do,
kept out of the CLI so that issue 4's daemon, watcher and final patch can hook
into the same steps: :func:`start` takes the trace's metadata and
:func:`stop` takes the artifacts to finalize with.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from prtrace.client import Client, PrtraceError
from prtrace.trace import Artifacts, Developer, Environment, Task
from recorder.session import Session, clear_session, load_session, save_session
from recorder.spool import Spool, spool_path
from recorder.uploader import BACKOFF_MAX, BACKOFF_START, Uploader, UploadLock

START_UPLOAD_DEADLINE = 5.0
"""How long ``start`` spends sending what was spooled before the session began."""


class SessionError(Exception):
    """The session is not in a state that allows the operation."""


@dataclass
class StopResult:
    session: Session
    sent: int
    status: str
    events: int
    refused_events: int = 0
    qa_job_id: str | None = None


@dataclass
class NoteResult:
    event_id: str
    uploaded: bool
    session: Session | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def start(
    root: Path,
    api: Client,
    developer: Developer,
    task: Task,
    environment: Environment | None = None,
) -> Session:
    """Create the trace on the backend and write ``.prtrace/session.json``."""
    current = load_session(root)
    if current is not None:
        raise SessionError(
            f"already recording trace {current.trace_id} in {root}; "
            "run `prtrace record stop` first"
        )
    created = api.create_trace(developer, task, environment)
    session = Session(
        trace_id=created.trace_id,
        upload_token=created.upload_token,
        url=api.base_url,
        created_at=datetime.now(UTC).isoformat(),
        repository=task.repository,
        commit=task.commit,
        branch=task.branch,
        task=task.id,
        developer=developer.id,
    )
    save_session(root, session)
    # Events spooled before the session (a proxy started earlier) go up right away.
    uploader = Uploader(root)
    try:
        uploader.drain(session, deadline=time.monotonic() + START_UPLOAD_DEADLINE)
    except Exception:
        pass  # the proxies' uploaders will retry
    finally:
        uploader.close()
    return session


def stop(root: Path, *, artifacts: Artifacts | None = None, timeout: float = 60.0) -> StopResult:
    """Upload every spooled event, finalize the trace, and end the session.

    Holds the upload lock throughout, so no other process sends to the trace
    while it is being sealed. If the backend cannot take the events within
    ``timeout`` the session is left as it is (nothing lost): run stop again.
    """
    session = load_session(root)
    if session is None:
        raise SessionError(f"no recording session in {root} (prtrace record start)")
    deadline = time.monotonic() + timeout
    lock = UploadLock(root)
    if not lock.acquire(timeout):
        raise SessionError("another process holds the upload lock; try again")
    uploader = Uploader(root)
    try:
        sent, backoff = 0, BACKOFF_START
        while True:
            result = uploader.send_all(session, deadline)
            sent += result.sent
            if result.outcome in ("done", "closed"):
                break
            if result.outcome == "deadline" or time.monotonic() + backoff > deadline:
                counts = uploader.spool.counts(session.trace_id)
                raise SessionError(
                    f"could not upload {counts.unsent + counts.pending} event(s) in time "
                    f"({result.error or 'backend unreachable'}); the session is kept, "
                    "run `prtrace record stop` again"
                )
            time.sleep(backoff)
            backoff = min(backoff * 2, BACKOFF_MAX)
        failed = uploader.spool.counts(session.trace_id).failed
        with Client(session.url, session.upload_token) as api:
            try:
                done = api.finalize(session.trace_id, artifacts)
            except PrtraceError as exc:
                if exc.status_code != 409:
                    raise
                raise SessionError(f"the backend would not finalize: {exc}") from None
        clear_session(root, session)
        return StopResult(
            session, sent, done.status, done.events, failed, getattr(done, "qa_job_id", None)
        )
    finally:
        uploader.close()
        lock.release()


def status(root: Path, *, check_backend: bool = True) -> dict[str, Any]:
    """The session (without its token), the spool's counts, and whether the backend answers."""
    session = load_session(root)
    report: dict[str, Any] = {
        "workspace": str(root),
        "recording": session is not None,
        "session": session.public() if session else None,
        "trace_id": session.trace_id if session else None,
    }
    if spool_path(root).exists():
        with Spool(spool_path(root)) as spool:
            counts = spool.counts(session.trace_id if session else None)
            report["events"] = {
                "spooled": counts.events,
                "unsent": counts.unsent,
                "pending": counts.pending,
                "uploaded": counts.delivered,
                "failed": counts.failed,
            }
            if session is not None:
                report["last_error"] = spool.last_error(session.trace_id)
                report["closed"] = spool.is_closed(session.trace_id)
    else:
        report["events"] = {"spooled": 0, "unsent": 0, "pending": 0, "uploaded": 0, "failed": 0}
    if check_backend and session is not None:
        report["backend"] = backend_status(session.url)
    return report


def backend_status(url: str) -> dict[str, Any]:
    try:
        with Client(url, "", timeout=3.0) as api:
            health = api.health()
        return {"url": url, "reachable": True, "version": health.version}
    except PrtraceError as exc:
        return {"url": url, "reachable": False, "error": str(exc)}


def note(root: Path, text: str, tags: list[str], *, upload_deadline: float = 3.0) -> NoteResult:
    """Record a ``thought`` in the spool; try briefly to upload it (else a proxy will)."""
    from prtrace.events import Thought
    from recorder.emitter import EventEmitter

    with Spool.for_workspace(root) as spool:
        emitter = EventEmitter(spool, source="cli")
        event = emitter.emit(Thought, time.time(), raw=text, tags=tags)
        emitter.flush()
    session = load_session(root)
    uploaded = False
    if session is not None:
        uploader = Uploader(root, timeout=upload_deadline)
        try:
            result = uploader.drain(session, deadline=time.monotonic() + upload_deadline)
            uploaded = result.outcome == "done"
        except Exception:
            uploaded = False
        finally:
            uploader.close()
    return NoteResult(event.id, uploaded, session)
