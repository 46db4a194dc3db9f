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
_HEADER = struct.Struct("<cdI")  # direction (b"c"/b"s"), time read, length
_DIRECTIONS = {"c2s": b"c", "s2c": b"s"}
_NAMES = {b"c": "c2s", b"s": "s2c"}


class Recording:
    """The recorder and spool, driven from a queue of ``(direction, t, bytes)``."""

    def __init__(self, *, upload: bool = True, idle_gap: float | None = None) -> None:
        self.queue: queue.SimpleQueue = queue.SimpleQueue()
        self.upload = upload
        self.idle_gap = idle_gap
        self.root: Path | None = None
        self.uploader: BackgroundUploader | None = None

    def _on_root(self, root: Path) -> None:
        from prtrace.recorder.pipeline.uploader import BackgroundUploader

        self.root = root
        self.emitter.attach_workspace(root)  # opens the spool only if something is recorded
        if self.upload:
            self.uploader = BackgroundUploader(root).start()

    def run(self) -> None:
        """Consume the queue until ``None``; then end bursts, spool, stop uploading."""
        from prtrace.recorder.lsp.recorder import IDLE_GAP, LspRecorder
        from prtrace.recorder.pipeline.emitter import EventEmitter

        self.emitter = EventEmitter(source="lsp")
        recorder = LspRecorder(
            self.emitter,
            idle_gap=IDLE_GAP if self.idle_gap is None else self.idle_gap,
            on_root=self._on_root,
        )
        get, empty = self.queue.get, self.queue.empty
        while True:
            try:
                item = get(timeout=QUIET_TICK)
            except queue.Empty:
                _guard(recorder.tick, time.time())
                _guard(self.emitter.flush)
                continue
            if item is None:
                break
            _guard(recorder.feed, *item)
            if empty():
                _guard(self.emitter.flush)
        _guard(recorder.close)
        _guard(self.emitter.flush)
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


def _start_worker(upload: bool, idle_gap: float | None) -> subprocess.Popen[bytes]:
    args = [sys.executable, "-m", "prtrace.recorder.lsp.main"]
    if not upload:
        args.append("--no-upload")
    if idle_gap is not None:
        args += ["--idle-gap", str(idle_gap)]
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
    worker = _start_worker(upload, idle_gap)
    assert worker.stdin is not None
    fd = os.dup(worker.stdin.fileno())
    worker.stdin.close()
    copies: queue.SimpleQueue = queue.SimpleQueue()
    relay = threading.Thread(target=_relay, args=(copies, fd), name="prtrace-relay", daemon=True)
    relay.start()
    proxy = Proxy(argv, tap=copies.put)
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
    idle_gap = float(args[args.index("--idle-gap") + 1]) if "--idle-gap" in args else None
    recording = Recording(upload="--no-upload" not in args, idle_gap=idle_gap)
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
