"""Sending spooled events to the session's trace, exactly once, offline-tolerant.

Any recorder process of a workspace may upload, but only one at a time: the
uploader holds an exclusive ``flock`` on ``.prtrace/upload.lock`` while it
drains. The kernel drops the lock when its holder dies — even by ``kill -9`` —
so the next process takes over at once, without lease timeouts. The holder
releases it between rounds, so ``prtrace record stop`` can step in.

One round (:meth:`Uploader.drain`) sends batch after batch (see
:mod:`prtrace.recorder.pipeline.spool` for how a batch keeps its ``seq`` and events across
crashes) until the spool has nothing more for the session, or the backend
cannot be reached. :class:`BackgroundUploader` repeats rounds in a thread: every
second when all is well, with exponential backoff (and jitter) while the
backend is down, for as long as the process lives.
"""

from __future__ import annotations

import fcntl
import os
import random
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from prtrace.errors import APIError, AuthError, ConflictError, NotFoundError, ServerError
from prtrace.recorder.pipeline.spool import Spool, spool_path
from prtrace.recorder.session.state import Session, load_session
from prtrace.recorder.session.workspace import state_dir

LOCK_FILE = "upload.lock"
POLL_INTERVAL = 1.0
BACKOFF_START = 0.5
BACKOFF_MAX = 30.0
REQUEST_TIMEOUT = 15.0

Outcome = Literal["done", "no_session", "offline", "closed", "busy", "deadline", "local_only"]


@dataclass
class DrainResult:
    outcome: Outcome
    """done: nothing left to send; offline: the backend did not take a batch (retry
    later); closed: the trace takes no more events; busy: another process uploads."""
    sent: int = 0
    """Events the backend acknowledged in this round."""
    error: str | None = None


class UploadLock:
    """An exclusive flock on ``.prtrace/upload.lock``, released by the kernel on death."""

    def __init__(self, root: Path) -> None:
        self.path = state_dir(root, create=True) / LOCK_FILE
        self._fd: int | None = None

    def acquire(self, timeout: float = 0.0) -> bool:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    os.close(fd)
                    return False
                time.sleep(0.05)
                continue
            self._fd = fd
            return True

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


def _local_only(root: Path) -> bool:
    """``privacy.local_only`` (docs/privacy.md): this workspace never uploads."""
    from prtrace.redaction.config import load_privacy_config

    try:
        return load_privacy_config(root).local_only
    except ValueError:
        return True  # a broken privacy config: upload nothing until it is fixed


def _try_later(exc: APIError) -> bool:
    """Unreachable, 429, any 5xx, or the session's token not (yet) good: the backend
    may take the batch later, exactly as it is."""
    return exc.retryable or isinstance(exc, (ServerError, AuthError, NotFoundError))


class Uploader:
    """Drains one workspace's spool into its session's trace (call from one thread)."""

    def __init__(self, root: Path, *, timeout: float = REQUEST_TIMEOUT) -> None:
        self.root = root
        self.timeout = timeout
        self._spool: Spool | None = None

    @property
    def spool(self) -> Spool:
        if self._spool is None:
            self._spool = Spool.for_workspace(self.root)
        return self._spool

    def close(self) -> None:
        if self._spool is not None:
            self._spool.close()
            self._spool = None

    def drain(
        self,
        session: Session | None = None,
        *,
        lock_timeout: float = 0.0,
        deadline: float | None = None,
    ) -> DrainResult:
        """One round: take the lock, send every batch there is, release the lock."""
        session = session or load_session(self.root)
        if session is None:
            return DrainResult("no_session")
        if _local_only(self.root):
            return DrainResult("local_only")
        if not spool_path(self.root).exists():
            return DrainResult("done")
        lock = UploadLock(self.root)
        if not lock.acquire(lock_timeout):
            return DrainResult("busy")
        try:
            return self.send_all(session, deadline)
        finally:
            lock.release()

    def send_all(self, session: Session, deadline: float | None) -> DrainResult:
        """Send batches until none is left; the caller holds the :class:`UploadLock`."""
        import msgspec

        from prtrace.client import Client

        sent = 0
        if _local_only(self.root):
            return DrainResult("local_only", error="privacy.local_only: nothing is uploaded")
        spool = self.spool
        if spool.is_closed(session.trace_id):
            return DrainResult("closed", error=f"trace {session.trace_id} takes no more events")
        if not spool.has_work(session.trace_id):
            return DrainResult("done")  # the common idle round: no write lock, no HTTP client
        with Client(session.url, session.upload_token, timeout=self.timeout) as api:
            while True:
                if deadline is not None and time.monotonic() >= deadline:
                    return DrainResult("deadline", sent)
                batch = spool.next_batch(session.trace_id)
                if batch is None:
                    return DrainResult("done", sent)
                events = [msgspec.Raw(body) for body in batch.events]
                try:
                    api.upload_events(batch.trace_id, batch.seq, events)
                except APIError as exc:
                    message = str(exc)
                    if _try_later(exc):
                        spool.record_attempt(batch, message)
                        return DrainResult("offline", sent, message)
                    if isinstance(exc, ConflictError):
                        spool.dissolve(batch, message)
                        return DrainResult("closed", sent, message)
                    spool.mark_failed(batch, message)  # 400/413/422: this batch, not the rest
                    continue
                spool.mark_delivered(batch)
                sent += len(batch.events)


class BackgroundUploader:
    """Runs upload rounds in a daemon thread while a recorder process lives."""

    def __init__(self, root: Path, *, poll: float = POLL_INTERVAL) -> None:
        self.root = root
        self.poll = poll
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._run, name="prtrace-upload", daemon=True)
        self.last: DrainResult | None = None

    def start(self) -> BackgroundUploader:
        self._thread.start()
        return self

    def stop(self, timeout: float = 2.0) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout)

    def _run(self) -> None:
        uploader = Uploader(self.root)
        backoff = BACKOFF_START
        try:
            while not self._stop.is_set():
                try:
                    self.last = result = uploader.drain()
                except Exception as exc:  # noqa: BLE001 - the recorder must outlive any upload bug
                    sys.stderr.write(f"prtrace: upload failed: {exc!r}\n")
                    result = DrainResult("offline", error=repr(exc))
                if result.outcome == "offline":
                    delay = backoff * random.uniform(0.8, 1.2)
                    backoff = min(backoff * 2, BACKOFF_MAX)
                else:
                    delay = self.poll
                    backoff = BACKOFF_START
                self._wake.wait(delay)
                self._wake.clear()
        finally:
            uploader.close()
