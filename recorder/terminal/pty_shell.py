"""``prtrace shell``: the user's shell in a PTY, recorded beside the path.

The wrapper must be invisible: the main thread only copies bytes — keyboard
to the PTY, PTY to the screen — with the terminal in raw mode, so every key
(Ctrl-C, Ctrl-Z, arrows, vim's Escape) reaches the shell's side, whose own line
discipline and job control do the rest. The shell runs in its own session with
the PTY as its controlling terminal; the window size is copied at start and on
every SIGWINCH. Each chunk of output is put on a queue *after* it is written to
the screen; a recording thread turns the queue into events
(:class:`prtrace.recorder.terminal.marks.ShellRecorder`) and spools them, and a background
uploader sends them while a session exists. Recording never blocks the copy:
if it falls behind, chunks wait in the queue.

When the shell exits the wrapper exits with its status. A SIGHUP (the
terminal window closed) or SIGTERM is passed on to the shell as SIGHUP.
"""

from __future__ import annotations

import errno
import fcntl
import os
import queue
import select
import shutil
import signal
import sys
import tempfile
import termios
import threading
import time
import tty
from collections.abc import Callable
from pathlib import Path

from prtrace.recorder.terminal import shell_integration

RECORDER_EXIT_WAIT = 30.0


def _copy_winsize(src: int, dst: int) -> None:
    try:
        size = fcntl.ioctl(src, termios.TIOCGWINSZ, b"\0" * 8)
        fcntl.ioctl(dst, termios.TIOCSWINSZ, size)
    except OSError:
        pass


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        try:
            view = view[os.write(fd, view) :]
        except BlockingIOError:
            select.select([], [fd], [])


_Tap = Callable[[tuple[float, bytes] | None], None]
"""Hands the recording thread a chunk of output, or None at the end."""


class _Recording(threading.Thread):
    """Consumes ``(t, bytes)`` chunks until ``None``; spools; uploads while it runs."""

    def __init__(self, root: Path, upload: bool) -> None:
        super().__init__(name="prtrace-shell-record", daemon=True)
        self.root = root
        self.upload = upload
        self.queue: queue.SimpleQueue[tuple[float, bytes] | None] = queue.SimpleQueue()

    def run(self) -> None:
        from prtrace.recorder.pipeline.emitter import EventEmitter
        from prtrace.recorder.pipeline.uploader import BackgroundUploader, Uploader
        from prtrace.recorder.terminal.marks import ShellRecorder

        emitter = EventEmitter(source="shell")
        emitter.attach_workspace(self.root)  # no spool unless the workspace records
        recorder = ShellRecorder(self.root, emitter)
        uploader = BackgroundUploader(self.root).start() if self.upload else None
        try:
            while True:
                item = self.queue.get()
                if item is None:
                    break
                try:
                    recorder.feed(*item)
                    if self.queue.empty():
                        emitter.flush()
                except Exception as exc:  # noqa: BLE001 - recording must never take the shell down
                    sys.stderr.write(f"prtrace shell: recording error: {exc!r}\r\n")
            recorder.close(time.time())
            emitter.flush()
        finally:
            if emitter.spool is not None:
                emitter.spool.close()
            if uploader is not None:
                uploader.stop()
                last = Uploader(self.root, timeout=3.0)
                try:
                    last.drain(lock_timeout=0.5, deadline=time.monotonic() + 3.0)
                except Exception:  # noqa: BLE001 - the session's daemon retries
                    pass
                finally:
                    last.close()


def _spawn(argv: list[str], env: dict[str, str], stdin_fd: int) -> tuple[int, int]:
    """Fork the shell on a new PTY; returns (pid, master fd)."""
    master, slave = os.openpty()
    if os.isatty(stdin_fd):
        try:
            termios.tcsetattr(slave, termios.TCSANOW, termios.tcgetattr(stdin_fd))
        except termios.error:
            pass
        _copy_winsize(stdin_fd, slave)
    pid = os.fork()
    if pid == 0:  # the child: new session, the PTY as controlling terminal, exec
        try:
            os.close(master)
            os.setsid()
            fcntl.ioctl(slave, termios.TIOCSCTTY, 0)
            for fd in (0, 1, 2):
                os.dup2(slave, fd)
            if slave > 2:
                os.close(slave)
            os.execvpe(argv[0], argv, env)
        except BaseException as exc:  # noqa: BLE001 - nothing may escape a forked child
            os.write(2, f"prtrace shell: cannot start {argv[0]}: {exc}\r\n".encode())
        finally:
            os._exit(127)
    os.close(slave)
    return pid, master


def run_shell(
    root: Path, shell: str | None = None, *, upload: bool = True, extra_env: dict | None = None
) -> int:
    shell = shell or os.environ.get("SHELL") or shutil.which("bash") or "/bin/sh"
    folder = Path(tempfile.mkdtemp(prefix="prtrace-shell-"))
    env = dict(os.environ)
    env.update(extra_env or {})
    env["PRTRACE_SHELL"] = str(os.getpid())
    env.setdefault("PRTRACE_WORKSPACE", str(root))
    argv = shell_integration.launch(shell, folder, env)
    stdin_fd, stdout_fd = sys.stdin.fileno(), sys.stdout.fileno()
    pid, master = _spawn(argv, env, stdin_fd)

    recording = _Recording(root, upload)
    recording.start()
    tap = recording.queue.put

    saved = None
    if os.isatty(stdin_fd):
        saved = termios.tcgetattr(stdin_fd)
        tty.setraw(stdin_fd, termios.TCSANOW)

    def on_winch(signum: int, frame: object) -> None:
        _copy_winsize(stdin_fd, master)

    def on_hangup(signum: int, frame: object) -> None:
        try:
            os.kill(pid, signal.SIGHUP)
        except ProcessLookupError:
            pass

    child_r, child_w = os.pipe()
    os.set_blocking(child_w, False)

    def on_child(signum: int, frame: object) -> None:
        try:
            os.write(child_w, b"x")
        except OSError:
            pass

    previous = {
        sig: signal.signal(sig, handler)
        for sig, handler in (
            (signal.SIGWINCH, on_winch),
            (signal.SIGHUP, on_hangup),
            (signal.SIGTERM, on_hangup),
            (signal.SIGCHLD, on_child),
        )
    }
    status: int | None = None
    try:
        status = _pump(master, stdin_fd, stdout_fd, tap, pid, child_r)
    finally:
        if saved is not None:
            termios.tcsetattr(stdin_fd, termios.TCSAFLUSH, saved)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        os.close(master)
        os.close(child_r)
        os.close(child_w)
        if status is None:
            _, status = os.waitpid(pid, 0)
        tap(None)
        recording.join(RECORDER_EXIT_WAIT)
        shutil.rmtree(folder, ignore_errors=True)
    return os.waitstatus_to_exitcode(status)


def _pump(
    master: int, stdin_fd: int, stdout_fd: int, tap: _Tap, pid: int, child_r: int
) -> int | None:
    """Copy until the shell's side of the PTY is closed, or the shell has exited
    (a background job may keep the PTY open: its later output is not ours).
    Returns the shell's wait status if it was reaped here."""
    inputs = [master, stdin_fd, child_r]
    now = time.time
    while True:
        try:
            readable, _, _ = select.select(inputs, [], [])
        except InterruptedError:
            continue
        if child_r in readable:
            os.read(child_r, 512)
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                _drain(master, stdout_fd, tap)
                return status
        if master in readable:
            try:
                data = os.read(master, 65536)
            except OSError as exc:
                if exc.errno in (errno.EIO, errno.EBADF):
                    return None  # every process on the PTY has closed it
                raise
            if not data:
                return None
            _write_all(stdout_fd, data)
            tap((now(), data))
        if stdin_fd in readable:
            try:
                data = os.read(stdin_fd, 65536)
            except OSError:
                data = b""
            if not data:
                inputs.remove(stdin_fd)  # our input ended (not a terminal): keep showing output
                continue
            _write_all(master, data)


def _drain(master: int, stdout_fd: int, tap: _Tap) -> None:
    """What the shell wrote just before it exited."""
    deadline = time.monotonic() + 0.5
    while time.monotonic() < deadline:
        readable, _, _ = select.select([master], [], [], 0.05)
        if not readable:
            return
        try:
            data = os.read(master, 65536)
        except OSError:
            return
        if not data:
            return
        _write_all(stdout_fd, data)
        tap((time.time(), data))
