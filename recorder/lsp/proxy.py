"""The LSP proxy: forward bytes first, record beside the path.

``prtrace lsp -- SERVER CMD…`` starts the real language server and copies
bytes between it and the editor, in both directions, exactly as they come.
Two threads pump raw bytes (``os.readv``/``os.write`` on the file descriptors,
no framing, no decoding); as each chunk goes through they drop a copy into a
``SimpleQueue`` for the recording side (see :data:`Tap` for why before the write). Everything slow —
framing, JSON, document state, hashing, diffing, SQLite — happens in the
recording thread (:mod:`prtrace.recorder.lsp.recorder`), which may lag behind without
ever holding up a message. Proxies that parse and re-serialise on the
forwarding path add ~0.5 ms per round trip; this one adds a thread hop.

The editor-to-server pump also *ticks*: whenever the editor's pipe is found
empty (and at least every :data:`TICK` seconds while it stays quiet) it queues
``("tick", time.monotonic(), b"")``, which says that every byte the editor
sent before that time is queued ahead of it. The recording side turns ticks
into its progress in the spool, which is how the file watcher knows that a
save on disk the recorder has not recorded yet is not someone else's.

The server's stderr is inherited, so it reaches the editor untouched. When the
server exits the proxy exits with its code; when the editor closes our stdin,
the server's stdin is closed and the server gets a few seconds to exit.
"""

from __future__ import annotations

import math
import os
import select
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from types import FrameType
from typing import Any, Literal, TypeAlias

Direction = Literal["c2s", "s2c", "tick"]
"""``c2s``: editor (client) to server; ``s2c``: server to editor; ``tick``: no bytes,
a monotonic time before which everything the editor sent is queued."""

Tap = Callable[[tuple[Direction, float, bytes]], None]
"""Receives ``(direction, time read, bytes)`` just before the bytes go on.

Handing the copy over *before* writing it costs a queue append on the path,
but it keeps the recording side causal: a message's copy is queued before the
peer can react to it, so a request is always recorded before its answer and an
answer before the edits the editor made after seeing it."""

READ_SIZE = 256 * 1024
TICK = 0.25
"""Seconds between ticks while the editor is quiet (the file watcher's wait for an
editor's recorder is at most about this much longer than its debounce)."""
EDITOR_GONE = math.inf
"""The last tick's time: after the editor closed its end nothing more can come."""
SERVER_EXIT_GRACE = 5.0
"""Seconds a server gets to exit on its own after the editor closed stdin."""
SWITCH_INTERVAL = 0.0002
"""GIL switch interval while proxying: a pump woken by the kernel must not wait
the default 5 ms for the recording thread to yield the interpreter."""


def _write_all(fd: int, data: memoryview) -> None:
    while data:
        n = os.write(fd, data)
        data = data[n:]


def _pump(
    src: int, dst: int, direction: Direction, tap: Tap | None, *, ticks: bool = False
) -> None:
    """Copy ``src`` to ``dst`` until EOF; a failed write stops forwarding only.

    With ``ticks`` (the editor's side) a tick is queued whenever one is due and
    nothing is waiting to be read: the time is taken *before* looking, so any
    byte written before it is either queued already (this thread queued it) or
    still unread, and then the tick waits until after that chunk.
    """
    buf = bytearray(READ_SIZE)
    view = memoryview(buf)
    forwarding = True
    ticker = tap if ticks else None
    poller = select.poll()
    poller.register(src, select.POLLIN)
    due = 0.0
    while True:
        if ticker is not None:
            now = time.monotonic()
            if now >= due and not poller.poll(0):
                ticker(("tick", now, b""))
                due = now + TICK
            if not poller.poll(max(0, math.ceil((due - time.monotonic()) * 1000))):
                continue  # quiet until the next tick is due
        try:
            n = os.readv(src, [buf])
        except OSError:
            n = 0
        if n == 0:
            if ticker is not None:
                ticker(("tick", EDITOR_GONE, b""))
            return
        chunk = view[:n]
        if tap is not None:
            tap((direction, time.time(), bytes(chunk)))
        if forwarding:
            try:
                _write_all(dst, chunk)
            except OSError:
                forwarding = False  # the peer is gone; keep draining for the record


class Proxy:
    """One proxied server. :meth:`run` blocks until it is over and returns the exit code."""

    def __init__(
        self,
        argv: Sequence[str],
        tap: Tap | None = None,
        *,
        stdin_fd: int = 0,
        stdout_fd: int = 1,
        env: dict[str, str] | None = None,
        ticks: bool = False,
    ) -> None:
        if not argv:
            raise ValueError("no server command given (prtrace lsp -- SERVER ARGS…)")
        self.argv = list(argv)
        self.tap = tap
        self.stdin_fd = stdin_fd
        self.stdout_fd = stdout_fd
        self.env = env
        self.ticks = ticks
        """Queue ticks from the editor's side (see the module docstring)."""
        self.process: subprocess.Popen[bytes] | None = None
        self._editor_closed = threading.Event()

    def start(self) -> None:
        self.process = subprocess.Popen(
            self.argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=None,  # inherited: the server's stderr goes straight to the editor
            bufsize=0,
            env=self.env,
        )
        assert self.process.stdin is not None and self.process.stdout is not None
        to_server = self.process.stdin.fileno()
        from_server = self.process.stdout.fileno()

        def editor_to_server() -> None:
            _pump(self.stdin_fd, to_server, "c2s", self.tap, ticks=self.ticks)
            self._editor_closed.set()
            try:
                self.process.stdin.close()  # type: ignore[union-attr]
            except OSError:
                pass

        self._c2s = threading.Thread(target=editor_to_server, name="lsp-c2s", daemon=True)
        self._s2c = threading.Thread(
            target=_pump,
            args=(from_server, self.stdout_fd, "s2c", self.tap),
            name="lsp-s2c",
            daemon=True,
        )
        self._c2s.start()
        self._s2c.start()

    def wait(self) -> int:
        """Wait for the server to finish (or, once the editor is gone, make it)."""
        proc = self.process
        assert proc is not None
        while proc.poll() is None:
            if self._editor_closed.wait(0.2):
                try:
                    proc.wait(SERVER_EXIT_GRACE)
                except subprocess.TimeoutExpired:
                    proc.terminate()
                    try:
                        proc.wait(SERVER_EXIT_GRACE)
                    except subprocess.TimeoutExpired:
                        proc.kill()
                        proc.wait()
        # The server is gone: what it wrote before exiting still has to reach the editor.
        self._s2c.join(SERVER_EXIT_GRACE)
        code = proc.returncode
        return 128 - code if code < 0 else code

    def terminate(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()

    def run(self) -> int:
        previous = sys.getswitchinterval()
        sys.setswitchinterval(SWITCH_INTERVAL)
        handlers = _forward_signals(self)
        try:
            self.start()
            return self.wait()
        finally:
            for sig, handler in handlers.items():
                signal.signal(sig, handler)
            sys.setswitchinterval(previous)


_SignalHandler: TypeAlias = Callable[[int, FrameType | None], Any] | int | signal.Handlers | None


def _forward_signals(proxy: Proxy) -> dict[int, _SignalHandler]:
    """SIGTERM/SIGHUP/SIGINT to the proxy end the server; we then exit with its code."""
    if threading.current_thread() is not threading.main_thread():
        return {}
    previous: dict[int, _SignalHandler] = {}
    for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        previous[sig] = signal.signal(sig, lambda *_: proxy.terminate())
    return previous
