"""Starting, stopping and inspecting a workspace's recording session; notes.

These are what ``prtrace record start|stop|status`` and ``prtrace note`` do,
kept out of the CLI so that issue 4's daemon, watcher and final patch can hook
into the same steps: :func:`start` takes the trace's metadata and
:func:`stop` takes the artifacts to finalize with.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from prtrace.attribution import Attribution
from prtrace.client import Client
from prtrace.errors import APIError, ConflictError, PrtraceError
from prtrace.recorder.pipeline.spool import Spool, spool_path
from prtrace.recorder.pipeline.uploader import BACKOFF_MAX, BACKOFF_START, Uploader, UploadLock
from prtrace.recorder.session.state import Session, clear_session, load_session, save_session
from prtrace.trace import Artifacts, Developer, Environment, Task

START_UPLOAD_DEADLINE = 5.0
"""How long ``start`` spends sending what was spooled before the session began."""


class SessionError(PrtraceError):
    """The session is not in a state that allows the operation (none yet, one already,
    paused, uploads pending); the CLI prints the message and exits 1."""


class DaemonError(SessionError):
    """The session's background recorder did not start or did not become ready."""


@dataclass
class StopResult:
    session: Session
    sent: int
    status: str
    events: int
    refused_events: int = 0
    qa_job_id: str | None = None
    final_patch_bytes: int | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        """Where a person looks at the trace: the web viewer's page for it."""
        return f"{self.session.url.rstrip('/')}/ui/#/trace/{self.session.trace_id}"


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
    *,
    existing: str | None = None,
) -> Session:
    """Create the trace on the backend and write ``.prtrace/session.json``.

    ``existing`` is the id of an open trace made earlier for this task (``prtrace
    task import``): the session records into it, with the API token as its writer
    (the trace's own upload token was shown only to whoever created it)."""
    current = load_session(root)
    if current is not None:
        raise SessionError(
            f"already recording trace {current.trace_id} in {root}; run `prtrace record stop` first"
        )
    from prtrace.recorder.pipeline.privacy import Privacy

    privacy = Privacy(root)
    if privacy.config.local_only:
        raise SessionError(
            "local-only mode (privacy.local_only): nothing is uploaded, so no trace is created; "
            "events stay in .prtrace/spool.db (prtrace record preview shows them)"
        )
    developer, task, environment = privacy.metadata(developer, task, environment)
    if existing is not None:
        if not api.token:
            raise SessionError("recording an imported task needs an API token (PRTRACE_API_TOKEN)")
        trace_id, upload_token = existing, api.token
    else:
        created = api.create_trace(developer, task, environment)
        trace_id, upload_token = created.trace_id, created.upload_token
    session = Session(
        trace_id=trace_id,
        upload_token=upload_token,
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
    except Exception:  # noqa: BLE001 - the proxies' uploaders will retry
        pass
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
    if artifacts is not None:  # the final patch leaves the machine too: same redaction
        from prtrace.recorder.pipeline.privacy import Privacy

        artifacts = Privacy(root).struct(artifacts)
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
            except ConflictError as exc:
                raise SessionError(f"the backend would not finalize: {exc}") from None
        clear_session(root, session)
        return StopResult(
            session, sent, done.status, done.events, failed, getattr(done, "qa_job_id", None)
        )
    finally:
        uploader.close()
        lock.release()


def start_daemon(root: Path) -> int:
    """Start the session's background recorder (watcher, git, hooks, uploader); its pid."""
    from prtrace.recorder.session import daemon

    return daemon.spawn(root)


def resume(root: Path) -> tuple[Session, int]:
    """The session exists but its daemon died (``kill -9``, a reboot): start it again.

    Nothing spooled is lost or sent twice: the spool's batches keep their seq,
    and the hook and reflog cursors are stored with the events they produced.
    """
    from prtrace.recorder.session import daemon

    session = load_session(root)
    if session is None:
        raise SessionError(f"no recording session in {root} (prtrace record start)")
    pid = daemon.alive(root)
    if pid is not None:
        raise SessionError(
            f"already recording trace {session.trace_id} in {root} (daemon pid {pid}); "
            "run `prtrace record stop` first"
        )
    return session, daemon.spawn(root)


def finish(root: Path, *, timeout: float = 60.0, patch: bool = True) -> StopResult:
    """``record stop``: end the daemon, spool what it had, compute the final patch,
    upload everything and finalize (see :func:`stop`)."""
    from prtrace.git import GitError, working_tree_patch
    from prtrace.recorder.files.gitwatch import GitTracker
    from prtrace.recorder.pipeline.emitter import EventEmitter
    from prtrace.recorder.session import daemon
    from prtrace.recorder.terminal.hooks import import_logs

    session = load_session(root)
    if session is None:
        raise SessionError(f"no recording session in {root} (prtrace record start)")
    daemon.stop(root)
    warnings: list[str] = []
    with Spool.for_workspace(root) as spool:  # what a dead daemon could not spool
        import_logs(root, EventEmitter(spool, source="hook"))
        GitTracker(root, EventEmitter(spool, source="git")).poll()
    artifacts = None
    if patch and session.commit:
        try:
            # The developer's view of their tree: their global ignore file applies.
            patch_text = working_tree_patch(root, session.commit, user_ignores=True)
            artifacts = Artifacts(final_patch=patch_text)
            artifacts.attribution = _attribution(root, session.trace_id, patch_text)
        except (GitError, OSError) as exc:
            warnings.append(f"no final patch: {exc}")
    result = stop(root, artifacts=artifacts, timeout=timeout)
    result.warnings = warnings
    if artifacts is not None and artifacts.final_patch is not None:
        result.final_patch_bytes = len(artifacts.final_patch.encode("utf-8", "surrogateescape"))
    return result


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
    from prtrace.recorder.session import daemon

    pid = daemon.alive(root)
    report["daemon"] = {"alive": pid is not None, "pid": pid if pid and pid > 0 else None}
    if check_backend and session is not None:
        report["backend"] = backend_status(session.url)
    return report


def backend_status(url: str) -> dict[str, Any]:
    try:
        with Client(url, "", timeout=3.0) as api:
            health = api.health()
        return {"url": url, "reachable": True, "version": health.version}
    except APIError as exc:
        return {"url": url, "reachable": False, "error": str(exc)}


def note(root: Path, text: str, tags: list[str], *, upload_deadline: float = 3.0) -> NoteResult:
    """Record a ``thought`` in the spool; try briefly to upload it (else a proxy will)."""
    from prtrace.events import Thought
    from prtrace.recorder.pipeline.emitter import EventEmitter
    from prtrace.recorder.pipeline.privacy import Privacy

    if not Privacy(root).recording():
        raise SessionError(
            f"not recording in {root}: paused (prtrace record resume) or not opted in "
            "(add .prtrace.toml, see docs/privacy.md); the note was not kept"
        )
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
        except Exception:  # noqa: BLE001 - the note is spooled; a later upload sends it
            uploaded = False
        finally:
            uploader.close()
    return NoteResult(event.id, uploaded, session)


def _attribution(root: Path, trace_id: str, patch: str) -> Attribution | None:
    """The final patch's authors from the spooled events (:mod:`prtrace.attribution`),
    over the patch as it will be sent: redacted, like the events' diffs."""
    import msgspec

    from prtrace.attribution import attribute
    from prtrace.events import Event
    from prtrace.recorder.pipeline.privacy import Privacy

    decoder = msgspec.json.Decoder(Event)
    events = []
    try:
        with Spool.for_workspace(root) as spool:
            bodies = spool.trace_bodies(trace_id)
        for body in bodies:
            try:
                events.append(decoder.decode(body))
            except msgspec.ValidationError:
                continue
        redacted = Privacy(root).struct(Artifacts(final_patch=patch)).final_patch
        return attribute(events, redacted)
    except Exception as exc:  # noqa: BLE001 - no attribution is no reason to lose the trace
        sys.stderr.write(f"prtrace: no attribution of the final patch: {exc!r}\n")
        return None
