"""Driving real shells the way a person does: tmux send-keys and capture-pane.

Each :class:`Tmux` runs its own tmux server (``-L`` socket name), so tests never
touch a user's tmux and always clean up. Programs a test needs (tmux, zsh, vim)
skip it on a developer's machine and fail it in CI (``service_required``).
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from tests.support.services import service_required


def need(program: str) -> str:
    path = shutil.which(program)
    if path is None:
        service_required(f"{program} is not installed (./dev test installs it)")
    assert path is not None
    return path


def wait_for(predicate: Callable[[], object], timeout: float = 30.0, what: str = "it") -> object:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def spooled(ws: Path, type_: str | None = None) -> list[dict]:
    db = ws / ".prtrace" / "spool.db"
    if not db.exists():
        return []
    con = sqlite3.connect(db, timeout=30)
    try:
        rows = con.execute("SELECT body FROM events ORDER BY id").fetchall()
    except sqlite3.OperationalError:  # created a moment ago, no tables yet
        return []
    finally:
        con.close()
    events = [json.loads(body) for (body,) in rows]
    return [e for e in events if type_ is None or e["type"] == type_]


class Tmux:
    def __init__(
        self,
        command: list[str],
        *,
        cwd: Path,
        env: dict[str, str],
        width: int = 120,
        height: int = 40,
    ) -> None:
        self.tmux = need("tmux")
        self.socket = f"prtrace-test-{uuid.uuid4().hex[:8]}"
        env_args = [f"{k}={v}" for k, v in env.items()]
        self._run(
            "new-session",
            "-d",
            "-s",
            "t",
            "-x",
            str(width),
            "-y",
            str(height),
            "-c",
            str(cwd),
            "env",
            *env_args,
            *command,
        )

    def _run(self, *args: str) -> str:
        done = subprocess.run(
            [self.tmux, "-L", self.socket, *args],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        return done.stdout

    def keys(self, *keys: str) -> None:
        self._run("send-keys", "-t", "t", *keys)

    def line(self, text: str) -> None:
        self._run("send-keys", "-t", "t", "-l", text)
        self._run("send-keys", "-t", "t", "Enter")

    def screen(self) -> str:
        return self._run("capture-pane", "-p", "-t", "t")

    def alive(self) -> bool:
        return "t" in self._run("list-sessions", "-F", "#{session_name}").split()

    def resize(self, width: int, height: int) -> None:
        self._run("resize-window", "-t", "t", "-x", str(width), "-y", str(height))

    def close(self) -> None:
        self._run("kill-server")
