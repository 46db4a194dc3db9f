"""Run ``prtrace serve`` as a child process on a free loopback port.

``prtrace demo`` and the test-suite's ``prtrace_server`` fixture both need a
real server they own: started in a private ``PRTRACE_HOME`` with a known API
token, waited on until ``/healthz`` answers, killed hard for crash tests and
started again on the same port and home. Keeping that here means the demo and
the tests drive the server the same way a user does.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from prtrace.config import new_token
from prtrace.errors import PrtraceError


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def prtrace_command() -> list[str]:
    """How to run this interpreter's ``prtrace``: the console script beside
    it when installed, else the CLI module (a plain checkout)."""
    script = Path(sys.executable).with_name("prtrace")
    if script.is_file() and os.access(script, os.X_OK):
        return [str(script)]
    return [sys.executable, "-m", "prtrace.cli.main"]


class ServerStartError(PrtraceError):
    """The server exited or did not become healthy; the message has its log."""


class ServerProcess:
    """A ``prtrace serve`` child process and where to reach it."""

    def __init__(
        self,
        home: Path,
        *,
        api_token: str | None = None,
        port: int | None = None,
        host: str = "127.0.0.1",
        env: dict[str, str] | None = None,
        serve_args: list[str] | None = None,
    ) -> None:
        self.home = Path(home)
        self.serve_args = list(serve_args or [])
        self.api_token = api_token or new_token("pta_")
        self.host = host
        self.port = port or free_port(host)
        self.extra_env = dict(env or {})
        self.log_path = self.home / "server.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def environment(self) -> dict[str, str]:
        env = dict(os.environ)
        # A developer's own settings must not leak into a private server.
        for name in [name for name in env if name.startswith("PRTRACE_")]:
            del env[name]
        env.update(
            PRTRACE_HOME=str(self.home),
            PRTRACE_API_TOKEN=self.api_token,
            PRTRACE_URL=self.url,
            XDG_CONFIG_HOME=str(self.home / "config"),
        )
        env.update(self.extra_env)
        return env

    def start(self, timeout: float = 60.0) -> ServerProcess:
        """Start the server and return once ``/healthz`` says ok."""
        if self.process is not None and self.process.poll() is None:
            raise ServerStartError("the server is already running")
        self.home.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [
                    *prtrace_command(),
                    "serve",
                    "--host",
                    self.host,
                    "--port",
                    str(self.port),
                    *self.serve_args,
                ],
                env=self.environment(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.wait_healthy(timeout)
        return self

    def wait_healthy(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        with httpx.Client(timeout=2.0) as client:
            while True:
                assert self.process is not None
                if self.process.poll() is not None:
                    raise ServerStartError(
                        f"prtrace serve exited with {self.process.returncode}:\n{self.log_tail()}"
                    )
                try:
                    if client.get(self.url + "/healthz").status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    self.kill9()
                    raise ServerStartError(
                        f"prtrace serve not healthy after {timeout:.0f}s:\n{self.log_tail()}"
                    )
                time.sleep(0.1)

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def kill9(self) -> None:
        """SIGKILL the server (and anything it started), as a crash would."""
        if self.process is None or self.process.poll() is not None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait()

    def stop(self, timeout: float = 15.0) -> None:
        """Ask the server to stop (SIGTERM); SIGKILL it if it does not."""
        if self.process is None or self.process.poll() is not None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            self.kill9()

    def restart(self, timeout: float = 60.0) -> ServerProcess:
        """Start again on the same port and home (after :meth:`kill9` or :meth:`stop`)."""
        self.stop()
        return self.start(timeout)
