"""The session's background recorder: file watcher, git, shell hooks, uploader.

``prtrace record start`` starts it; it outlives the terminal: started in a new
session (``setsid``) and forked once more so it is no session leader and can
never get a controlling terminal, with stdin/stdout on ``/dev/null`` and stderr
in ``.prtrace/daemon.log``. It holds an exclusive ``flock`` on
``.prtrace/daemon.lock`` for as long as it lives — the kernel drops it even on
``kill -9`` — which is how ``status`` and ``start`` tell a live daemon from a
stale ``daemon.pid``. Its pid is written once the watcher is running, so
``record start`` returns only when changes are being recorded.

AI agents' hooks (``prtrace hook claude-code``) come over the same socket and
are spooled the moment they arrive, on the listener's thread
(:mod:`prtrace.recorder.agents.base`), so the watcher knows an agent's tool call is
running before the tool writes anything. The main thread wakes once a second: it imports new shell-hook records
(:mod:`prtrace.recorder.terminal.hooks`) and new reflog lines (:mod:`prtrace.recorder.files.gitwatch`) — the
watcher pokes it sooner when something under ``.git/`` changes. SIGTERM (what
``record stop`` sends) or SIGINT ends it cleanly: the watcher records what is
dirty, the last hook records and reflog lines are spooled, and it exits; the
upload of the rest is ``record stop``'s.
"""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from prtrace.recorder.session.workspace import state_dir

if TYPE_CHECKING:
    from prtrace.recorder.files.gitwatch import GitTracker
    from prtrace.recorder.pipeline.emitter import EventEmitter
    from prtrace.recorder.terminal.hook_socket import HookListener

PID_FILE = "daemon.pid"
LOCK_FILE = "daemon.lock"
LOG_FILE = "daemon.log"
TICK = 1.0
READY_TIMEOUT = 120.0
_RETRY = "; the session exists: run `prtrace record start` again to retry the daemon"


def pid_path(root: Path) -> Path:
    return state_dir(root) / PID_FILE


def alive(root: Path) -> int | None:
    """The live daemon's pid, or None (its lock is free: dead or never started)."""
    lock = state_dir(root) / LOCK_FILE
    try:
        fd = os.open(lock, os.O_RDWR)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        try:
            return int(pid_path(root).read_text().strip())
        except (OSError, ValueError):
            return -1  # starting: locked, pid not written yet
    finally:
        os.close(fd)
    return None


def spawn(root: Path, *, timeout: float = READY_TIMEOUT) -> int:
    """Start the daemon for ``root`` and wait until it records; returns its pid.

    Raises :class:`~prtrace.recorder.session.lifecycle.DaemonError` if it does not.
    """
    from prtrace.recorder.session.lifecycle import DaemonError

    folder = state_dir(root, create=True)
    pid_path(root).unlink(missing_ok=True)
    env = dict(os.environ)
    with open(folder / LOG_FILE, "ab") as log:
        first = subprocess.Popen(
            [sys.executable, "-m", "prtrace.recorder.session.daemon", str(root)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=log,
            start_new_session=True,
            env=env,
            cwd=root,
            close_fds=True,
        )
    code = first.wait(timeout)  # the first child forks the daemon and exits at once
    if code != 0:
        raise DaemonError(f"the recorder daemon did not start (see {folder / LOG_FILE}){_RETRY}")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pid = alive(root)
        if pid and pid > 0:
            return pid
        time.sleep(0.05)
    raise DaemonError(f"the recorder daemon did not become ready (see {folder / LOG_FILE}){_RETRY}")


def stop(root: Path, *, timeout: float = 30.0) -> bool:
    """SIGTERM the daemon and wait for it to finish; True if one was running."""
    pid = alive(root)
    if pid is None:
        return False
    if pid > 0:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            return False
    deadline = time.monotonic() + timeout
    while alive(root) is not None:
        if time.monotonic() > deadline:
            if pid > 0:
                os.kill(pid, signal.SIGKILL)
            break
        time.sleep(0.05)
    return True


class Daemon:
    def __init__(self, root: Path) -> None:
        self.root = root
        self._stop = threading.Event()
        self._git_poke = threading.Event()

    def run(self) -> int:
        from prtrace.recorder.files.gitwatch import GitTracker
        from prtrace.recorder.files.watcher import FileWatcher
        from prtrace.recorder.pipeline.emitter import EventEmitter
        from prtrace.recorder.pipeline.spool import Spool
        from prtrace.recorder.pipeline.uploader import BackgroundUploader
        from prtrace.recorder.terminal.hook_socket import HookListener
        from prtrace.recorder.terminal.hooks import hook_dir, import_logs

        lock_path = state_dir(self.root, create=True) / LOCK_FILE
        lock_fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            sys.stderr.write("prtrace daemon: another daemon records this workspace\n")
            return 0
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(sig, lambda *_: self._stop.set())
        from prtrace.recorder.agents import load_all
        from prtrace.recorder.agents.base import AgentRecorder

        spool = Spool.for_workspace(self.root)
        # The agents' hooks: handled on the listener's thread as they come, with a
        # spool connection of their own (SQLite connections stay in their thread).
        agents = AgentRecorder(self.root, load_all())
        listener = HookListener(
            hook_dir(self.root, create=True), on_message=agents.handle_message
        ).start()
        git = GitTracker(self.root, EventEmitter(spool, source="git"))
        hooks = EventEmitter(spool, source="hook")
        git.start()
        watcher = FileWatcher(self.root, on_git=self._git_poke.set).start()
        uploader = BackgroundUploader(self.root).start()
        pid_path(self.root).write_text(f"{os.getpid()}\n")
        try:
            while not self._stop.is_set():
                self._git_poke.wait(TICK)
                self._git_poke.clear()
                self._round(git, hooks, import_logs, listener)
        finally:
            listener.stop()
            agents.close()
            watcher.stop()
            self._round(git, hooks, import_logs, listener)
            uploader.stop()
            spool.close()
            pid_path(self.root).unlink(missing_ok=True)
            os.close(lock_fd)
        return 0

    def _round(
        self,
        git: GitTracker,
        hooks: EventEmitter,
        import_logs: Callable[[Path, EventEmitter], object],
        listener: HookListener,
    ) -> None:
        from prtrace.recorder.terminal.hooks import emit_received

        steps = (
            git.poll,
            lambda: emit_received(self.root, hooks, listener.drain()),
            lambda: import_logs(self.root, hooks),
        )
        for step in steps:
            try:
                step()
            except Exception as exc:  # noqa: BLE001 - the daemon must outlive any one failure
                sys.stderr.write(f"prtrace daemon: {exc!r}\n")


def main(argv: list[str]) -> int:
    root = Path(argv[0]).resolve()
    if os.fork() > 0:
        os._exit(0)  # the second fork: the daemon is no session leader
    os.chdir(root)
    try:
        os.nice(5)
    except OSError:
        pass
    return Daemon(root).run()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
