"""``prtrace lsp -- SERVER CMD…``: the proxy, its recording worker and its uploader.

Two processes, so that recording can never take time from forwarding:

* the **proxy process** runs the :class:`~prtrace.recorder.lsp.proxy.Proxy` pumps and a
  relay thread that writes each queued copy, framed as ``(direction, time,
  length)`` + bytes, into a pipe to the worker. The pumps never touch the pipe:
  if the worker falls behind, copies wait in the (unbounded) queue, not the
  editor's messages. The only Python code sharing the pumps' interpreter lock is
  this few-microsecond relay.
* the **recording worker** (``python -m prtrace.recorder.lsp.main``, at a lower CPU
  priority) turns the copies into events with
  :class:`~prtrace.recorder.lsp.recorder.LspRecorder`, spools them whenever it has
  caught up with the stream, and runs the
  :class:`~prtrace.recorder.pipeline.uploader.BackgroundUploader` once the workspace is known.
  During a burst it yields the CPU to the editor and the server, and catches up
  afterwards.

When the server exits the proxy closes the pipe; the worker finishes what is
queued (ending any edit burst), spools it, tries one last upload round (3 s at
most) and exits. If the proxy is killed, the worker sees the pipe close and
does the same with what it got.

**Progress, for the file watcher.** The worker may be seconds behind the editor
(it starts cold, runs at a lower priority, and an edit is only an event when
its burst ends), so an editor's save can reach the disk — and the watcher —
long before the worker has recorded it. The watcher must then wait rather than
record the save as someone else's change, and for that it needs to know how
far each worker got: :class:`Progress` keeps a row in the spool's
``lsp_progress`` table (every message the editor sent before ``seen`` is
recorded and spooled; ``editing``: the file whose burst is open), advanced by
the proxy's ticks (:mod:`prtrace.recorder.lsp.proxy`). The *proxy process*
writes that row before it forwards anything (:func:`register`), since the
worker is not even running yet when the editor's first messages go through.
"""

from __future__ import annotations

import os
import queue
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from prtrace.recorder.lsp.proxy import Proxy

if TYPE_CHECKING:
    from prtrace.recorder.pipeline.spool import Spool
    from prtrace.recorder.pipeline.uploader import BackgroundUploader

QUIET_TICK = 0.25
"""How often an idle recorder checks whether an edit burst has ended."""
DRAIN_ON_EXIT = 3.0
"""Seconds the exiting worker spends trying to upload what is left."""
WORKER_EXIT_WAIT = 60.0
"""How long the proxy waits for the worker to spool the end of a session."""
WORKER_NICE = 10
RELAY_BATCH = 0.002
"""Seconds the relay lets copies accumulate before writing them to the worker."""
_HEADER = struct.Struct("<cdI")  # direction (b"c"/b"s"/b"t"), time read, length
_DIRECTIONS = {"c2s": b"c", "s2c": b"s", "tick": b"t"}
_NAMES = {b"c": "c2s", b"s": "s2c", b"t": "tick"}


def register(root: Path, session_id: str, pid: int) -> bool:
    """Enter the recorder ``session_id`` (worker ``pid``) in ``root``'s spool, as not
    caught up with anything yet, if the workspace has a spool (so maybe a watcher).

    Called by the proxy process before it forwards the first byte: from then on a
    file watcher waits for this recorder rather than take the editor's saves for
    someone else's. Rows of workers that died without cleaning up go at the same
    time. Never fatal: without the row the proxy still forwards and records.
    """
    from prtrace.recorder.pipeline.spool import Spool, spool_path

    path = spool_path(root)
    if not path.is_file():
        return False
    try:
        with Spool(path) as spool:
            spool.drop_progress(r.session_id for r in spool.lsp_progress() if not r.alive())
            spool.put_progress(session_id, pid, 0.0)
    except Exception as exc:  # noqa: BLE001 - the proxy must start whatever the spool says
        sys.stderr.write(f"prtrace lsp: could not register with the file watcher: {exc!r}\n")
        return False
    return True


class Progress:
    """This worker's row in the spool's ``lsp_progress`` table (see the module docstring).

    ``seen`` moves with the proxy's ticks, once the events of everything before
    them are spooled. The row is rewritten only while a watcher wants it to be
    (its ``wanted`` is ahead of what was reported), so an idle editor costs one
    read per tick, not a write. It lives in the spool of the workspace the
    proxy process guessed (``guess``) until the ``initialize`` root is known,
    then there; it is never what creates a spool.
    """

    def __init__(self, session_id: str, guess: Path | None = None) -> None:
        self.session_id = session_id
        self.pid = os.getpid()
        self.root = guess
        self.seen = 0.0
        self._reported: tuple[float, str | None] | None = None
        self._spool: Spool | None = None

    def move(self, root: Path, editing: str | None = None) -> None:
        """The workspace is known: report there from now on (and no longer elsewhere).

        The row is entered at once, while the worker is at the ``initialize``, so
        the new workspace's watcher waits for the messages after it."""
        if root == self.root:
            return
        self.close()
        self.root = root
        self.report(editing)

    def report(self, editing: str | None) -> None:
        """Write ``seen`` and ``editing`` if a watcher waits for news (or the row is new)."""
        spool = self._open()
        if spool is None:
            return
        state = (self.seen, editing)
        reported = self._reported
        if reported is not None and (
            state == reported or spool.progress_wanted(self.session_id) <= reported[0]
        ):
            return
        spool.put_progress(self.session_id, self.pid, self.seen, editing)
        self._reported = state

    def close(self) -> None:
        """Gone: no watcher should wait for this recorder any more."""
        self._open()  # the proxy process may have made the row before this worker looked
        spool, self._spool = self._spool, None
        if spool is not None:
            try:
                spool.drop_progress([self.session_id])
            finally:
                spool.close()
        self._reported = None

    def _open(self) -> Spool | None:
        from prtrace.recorder.pipeline.spool import Spool, spool_path

        if self._spool is None and self.root is not None:
            path = spool_path(self.root)
            if path.is_file():  # a watcher may have created it since the last tick
                self._spool = Spool(path)
        return self._spool


class Recording:
    """The recorder and spool, driven from a queue of ``(direction, t, bytes)``."""

    def __init__(
        self,
        *,
        upload: bool = True,
        idle_gap: float | None = None,
        session_id: str | None = None,
        guess: Path | None = None,
    ) -> None:
        from prtrace.ids import new_session_id

        self.queue: queue.SimpleQueue = queue.SimpleQueue()
        self.upload = upload
        self.idle_gap = idle_gap
        self.root: Path | None = None
        self.uploader: BackgroundUploader | None = None
        self.progress = Progress(session_id or new_session_id(), guess)

    def _on_root(self, root: Path) -> None:
        from prtrace.recorder.pipeline.uploader import BackgroundUploader

        self.root = root
        self.emitter.attach_workspace(root)  # opens the spool only if something is recorded
        self.progress.move(root)
        if self.upload:
            self.uploader = BackgroundUploader(root).start()

    def run(self) -> None:
        """Consume the queue until ``None``; then end bursts, spool, stop uploading.

        Progress is reported only after the flush that spooled the events of
        everything before the tick (the watcher's "caught up" means "in the spool").
        """
        from prtrace.recorder.lsp.recorder import IDLE_GAP, LspRecorder
        from prtrace.recorder.pipeline.emitter import EventEmitter

        self.emitter = EventEmitter(source="lsp", session_id=self.progress.session_id)
        recorder = LspRecorder(
            self.emitter,
            idle_gap=IDLE_GAP if self.idle_gap is None else self.idle_gap,
            on_root=self._on_root,
        )
        progress = self.progress
        get, empty = self.queue.get, self.queue.empty
        try:
            while True:
                try:
                    item = get(timeout=QUIET_TICK)
                except queue.Empty:
                    _guard(recorder.tick, time.time())
                    _guard(self.emitter.flush)
                    _guard(progress.report, recorder.editing)
                    continue
                if item is None:
                    break
                if item[0] == "tick":
                    # A burst ends by the stream's clock, not this worker's: behind a
                    # backlog, wall time now says nothing about the gap between changes.
                    _guard(recorder.tick, item[1] + (time.time() - time.monotonic()))
                    progress.seen = max(progress.seen, item[1])
                else:
                    _guard(recorder.feed, *item)
                if empty():
                    _guard(self.emitter.flush)
                    _guard(progress.report, recorder.editing)
            _guard(recorder.close)
            _guard(self.emitter.flush)
        finally:
            _guard(progress.close)
        if self.uploader is not None:
            self.uploader.stop()
            _last_round(self.root)


def _guard(fn: Callable[..., object], *args: object) -> None:
    """Recording must never take the proxy down: report and go on."""
    try:
        fn(*args)
    except Exception as exc:  # noqa: BLE001 - the proxy outlives any recording bug
        sys.stderr.write(f"prtrace lsp: recording error: {exc!r}\n")


def _last_round(root: Path | None) -> None:
    """Try once, briefly, to upload what this process recorded last."""
    if root is None:
        return
    from prtrace.recorder.pipeline.uploader import Uploader

    uploader = Uploader(root, timeout=DRAIN_ON_EXIT)
    try:
        uploader.drain(lock_timeout=0.5, deadline=time.monotonic() + DRAIN_ON_EXIT)
    except Exception as exc:  # noqa: BLE001 - the spool keeps the events for the next upload
        sys.stderr.write(f"prtrace lsp: final upload failed: {exc!r}\n")
    finally:
        uploader.close()


# --- the proxy process ---------------------------------------------------------------


def _start_worker(
    upload: bool, idle_gap: float | None, session_id: str, guess: Path
) -> subprocess.Popen[bytes]:
    args = [sys.executable, "-m", "prtrace.recorder.lsp.main", "--session-id", session_id]
    if not upload:
        args.append("--no-upload")
    if idle_gap is not None:
        args += ["--idle-gap", str(idle_gap)]
    args += ["--workspace-guess", str(guess)]
    env = dict(os.environ)
    return subprocess.Popen(
        args,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=None,
        bufsize=0,
        # Its own session: an editor's SIGINT/SIGTERM to our group must not cut the
        # recording short; it ends when our pipe closes.
        start_new_session=True,
    )


def _relay(copies: queue.SimpleQueue, fd: int) -> None:
    """Write the copies to the worker; blocking here never blocks the pumps.

    After the first copy of a burst it waits :data:`RELAY_BATCH` and sends
    everything that has queued up in one write, so the relay thread and the
    worker wake once per batch rather than once per message (fewer wake-ups on
    the cores the editor and the server are using).
    """
    alive, done = True, False
    while not done:
        item = copies.get()
        if item is None:
            break
        time.sleep(RELAY_BATCH)
        parts: list[bytes] = []
        while item is not None:
            direction, t, data = item
            parts += (_HEADER.pack(_DIRECTIONS[direction], t, len(data)), data)
            try:
                item = copies.get_nowait()
            except queue.Empty:
                break
        else:
            done = True
        if not alive:
            continue
        try:
            view = memoryview(b"".join(parts))
            while view:
                view = view[os.write(fd, view) :]
        except OSError:
            alive = False  # the worker died: keep forwarding, stop recording
    os.close(fd)


def run_lsp(argv: Sequence[str], *, upload: bool = True, idle_gap: float | None = None) -> int:
    """Proxy ``argv`` on stdin/stdout, recording beside it; returns the server's exit code."""
    from prtrace.ids import new_session_id
    from prtrace.recorder.session.workspace import find_root

    session_id = new_session_id()
    # The worker finds its workspace in the editor's initialize; until then the
    # one this process starts in (the editor's folder, or PRTRACE_WORKSPACE) is
    # the best guess, and the row must exist before the editor can save anything.
    guess = find_root()
    worker = _start_worker(upload, idle_gap, session_id, guess)
    register(guess, session_id, worker.pid)  # else the worker enters itself when it can
    assert worker.stdin is not None
    fd = os.dup(worker.stdin.fileno())
    worker.stdin.close()
    copies: queue.SimpleQueue = queue.SimpleQueue()
    relay = threading.Thread(target=_relay, args=(copies, fd), name="prtrace-relay", daemon=True)
    relay.start()
    proxy = Proxy(argv, tap=copies.put, ticks=True)
    try:
        return proxy.run()
    finally:
        copies.put(None)
        relay.join(WORKER_EXIT_WAIT)
        try:
            worker.wait(WORKER_EXIT_WAIT)
        except subprocess.TimeoutExpired:
            pass  # it keeps spooling on its own; the editor need not wait


# --- the recording worker ----------------------------------------------------------------


def _read_exact(stream: BinaryIO, n: int) -> bytes | None:
    data = stream.read(n)
    return data if len(data) == n else None


def worker_main(args: Sequence[str]) -> int:
    """Read framed copies from stdin into a :class:`Recording` until EOF."""
    try:
        os.nice(WORKER_NICE)
    except OSError:
        pass

    def value(flag: str) -> str | None:
        return args[args.index(flag) + 1] if flag in args else None

    idle_gap = value("--idle-gap")
    guess = value("--workspace-guess")
    recording = Recording(
        upload="--no-upload" not in args,
        idle_gap=None if idle_gap is None else float(idle_gap),
        session_id=value("--session-id"),
        guess=None if guess is None else Path(guess),
    )
    consumer = threading.Thread(target=recording.run, name="prtrace-record")
    consumer.start()
    stream = sys.stdin.buffer
    put = recording.queue.put
    try:
        while True:
            header = _read_exact(stream, _HEADER.size)
            if header is None:
                break
            direction, t, length = _HEADER.unpack(header)
            data = _read_exact(stream, length)
            if data is None:
                break
            put((_NAMES[direction], t, data))
    finally:
        put(None)
        consumer.join()
    return 0


if __name__ == "__main__":
    sys.exit(worker_main(sys.argv[1:]))
