"""A small real LSP client over pipes, for driving servers through ``prtrace lsp``.

It speaks the base protocol itself (no pygls in the loop, so what goes over
the pipe is exactly what the test wrote), answers the server's requests the
way a plain editor does, and keeps every byte it sent and received so tests
can compare them with what the server saw.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from prtrace.recorder.lsp.framing import MessageFramer, frame

ROOT = Path(__file__).resolve().parents[2]
"""The repository."""
FAKE_SERVER = Path(__file__).with_name("lsp_fake_server.py")
"""The scripted LSP server (a script: run it with ``sys.executable``)."""


def prtrace_cmd() -> list[str]:
    script = Path(sys.executable).with_name("prtrace")
    if script.is_file():
        return [str(script)]
    return [sys.executable, "-m", "prtrace.cli.main"]


def proxy_env(workspace: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PRTRACE_")}
    env["PRTRACE_WORKSPACE"] = str(workspace)
    env["XDG_CONFIG_HOME"] = str(workspace / ".xdg-config")
    env.update(extra)
    return env


class LspClient:
    def __init__(
        self, argv: list[str], *, env: dict[str, str] | None = None, cwd: Path | None = None
    ):
        self.proc = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            cwd=cwd,
            bufsize=0,
        )
        self.sent = bytearray()
        self.received = bytearray()
        self.stderr = bytearray()
        self._next_id = 0
        self._responses: dict[Any, dict] = {}
        self._cond = threading.Condition()
        self._write_lock = threading.Lock()
        self.notifications: queue.SimpleQueue = queue.SimpleQueue()
        self.server_requests: list[dict] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self._err = threading.Thread(target=self._read_err, daemon=True)
        self._err.start()

    # --- wire -------------------------------------------------------------

    def write_raw(self, data: bytes) -> None:
        assert self.proc.stdin is not None
        with self._write_lock:  # the reader thread answers server requests concurrently
            self.proc.stdin.write(data)
            self.proc.stdin.flush()
            self.sent += data

    def close_stdin(self) -> None:
        """What an editor does when it goes away without saying exit."""
        assert self.proc.stdin is not None
        with self._write_lock:
            self.proc.stdin.close()

    def send(self, msg: dict) -> None:
        self.write_raw(frame(json.dumps(msg).encode()))

    def _read(self) -> None:
        framer = MessageFramer()
        assert self.proc.stdout is not None
        while True:
            data = (
                self.proc.stdout.read1(65536)
                if hasattr(self.proc.stdout, "read1")
                else os.read(self.proc.stdout.fileno(), 65536)
            )
            if not data:
                break
            self.received += data
            for body in framer.feed(data):
                msg = json.loads(body)
                if "method" in msg and "id" in msg:
                    self.server_requests.append(msg)
                    self._answer(msg)
                elif "method" in msg:
                    self.notifications.put(msg)
                else:
                    with self._cond:
                        self._responses[msg.get("id")] = msg
                        self._cond.notify_all()
        with self._cond:
            self._cond.notify_all()

    def _read_err(self) -> None:
        assert self.proc.stderr is not None
        while True:
            data = self.proc.stderr.read(4096)
            if not data:
                return
            self.stderr += data

    def _answer(self, msg: dict) -> None:
        result: Any = None
        if msg["method"] == "workspace/configuration":
            result = [None for _ in msg.get("params", {}).get("items", [])]
        elif msg["method"] == "workspace/applyEdit":
            result = {"applied": True}
        try:
            self.send({"jsonrpc": "2.0", "id": msg["id"], "result": result})
        except (OSError, ValueError):
            pass  # we closed our end already

    # --- requests ---------------------------------------------------------------

    def request(self, method: str, params: Any, timeout: float = 60.0) -> Any:
        self._next_id += 1
        rid = self._next_id
        self.send({"jsonrpc": "2.0", "id": rid, "method": method, "params": params})
        deadline = time.monotonic() + timeout
        with self._cond:
            while rid not in self._responses:
                left = deadline - time.monotonic()
                if left <= 0 or (self.proc.poll() is not None and rid not in self._responses):
                    raise TimeoutError(
                        f"no answer to {method}; stderr: {self.stderr.decode(errors='replace')[-2000:]}"
                    )
                self._cond.wait(min(left, 0.5))
            msg = self._responses.pop(rid)
        if "error" in msg:
            raise RuntimeError(f"{method} failed: {msg['error']}")
        return msg.get("result")

    def notify(self, method: str, params: Any) -> None:
        self.send({"jsonrpc": "2.0", "method": method, "params": params})

    def wait_notification(self, method: str, timeout: float = 30.0, where=None) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no {method} notification")
            try:
                msg = self.notifications.get(timeout=left)
            except queue.Empty:
                continue
            if msg["method"] == method and (where is None or where(msg)):
                return msg

    def initialize(self, root: Path, capabilities: dict | None = None) -> dict:
        result = self.request(
            "initialize",
            {
                "processId": os.getpid(),
                "rootUri": root.as_uri(),
                "workspaceFolders": [{"uri": root.as_uri(), "name": root.name}],
                "capabilities": capabilities
                or {
                    "textDocument": {
                        "synchronization": {"didSave": True, "dynamicRegistration": False},
                        "definition": {"linkSupport": False},
                        "publishDiagnostics": {},
                    },
                    "workspace": {"configuration": True, "workspaceFolders": True},
                },
            },
        )
        self.notify("initialized", {})
        return result

    def shutdown(self, timeout: float = 30.0) -> int:
        try:
            self.request("shutdown", None, timeout=timeout)
            self.notify("exit", None)
        except (TimeoutError, BrokenPipeError, OSError):
            pass
        try:
            assert self.proc.stdin is not None
            self.proc.stdin.close()
        except OSError:
            pass
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait()
        self._reader.join(5)
        self._err.join(5)
        return code


def spooled_events(workspace: Path) -> list[dict]:
    """Every event in the workspace's spool, in spool order."""
    import sqlite3

    path = workspace / ".prtrace" / "spool.db"
    if not path.exists():
        return []
    db = sqlite3.connect(path)
    try:
        return [json.loads(body) for (body,) in db.execute("SELECT body FROM events ORDER BY id")]
    except sqlite3.OperationalError:
        return []  # a recorder is creating the spool right now
    finally:
        db.close()


def git_apply(base: str, patches: list[str], tmp: Path, name: str) -> str:
    """Apply unified patches in order with ``git apply`` to ``base``; the result's text."""
    repo = tmp / "apply"
    target = repo / name
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(base.encode())
    for i, patch in enumerate(patches):
        patch_file = tmp / f"p{i}.diff"
        patch_file.write_bytes(patch.encode())
        subprocess.run(
            ["git", "apply", "--unidiff-zero", "--whitespace=nowarn", str(patch_file)],
            cwd=repo,
            check=True,
            capture_output=True,
        )
    return target.read_bytes().decode()


# --- real editors driven headless (tests/e2e/test_lsp_*.py) ---------------------------

EDITOR_MAIN = "from pkg.util import helper\n\nprint(helper(2))\n"
EDITOR_UTIL = "def helper(x):\n    return x + 1\n"
EDITOR_SAVED = b"from pkg.util import helper\n\nprint(helper(4))\nvalue = helper(3)\n"
"""What each editor test types: ``value = helper(3)`` on a new last line, then
``helper(2)`` → ``helper(4)``, then save."""


def editor_workspace(tmp_path: Path) -> Path:
    """An opted-in git repository with ``main.py`` calling ``pkg/util.py``'s ``helper``."""
    ws = tmp_path / "ws"
    (ws / "pkg").mkdir(parents=True)
    (ws / "pkg" / "__init__.py").write_text("")
    (ws / "pkg" / "util.py").write_text(EDITOR_UTIL)
    (ws / "main.py").write_text(EDITOR_MAIN)
    subprocess.run(["git", "init", "-q", str(ws)], check=True)
    (ws / ".prtrace.toml").write_text("[privacy]\n")  # the repository opts in (docs/privacy.md)
    return ws


def editor_env(tmp_path: Path, ws: Path) -> dict[str, str]:
    """A private home for the editor, prtrace and pylsp first on PATH, no PRTRACE_ settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PRTRACE_")}
    env.update(
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
        HOME=str(tmp_path / "home"),
        XDG_CONFIG_HOME=str(tmp_path / "config"),
        XDG_DATA_HOME=str(tmp_path / "data"),
        XDG_STATE_HOME=str(tmp_path / "state"),
        XDG_CACHE_HOME=str(tmp_path / "cache"),
        PRTRACE_TEST_WS=str(ws),
    )
    (tmp_path / "home").mkdir(exist_ok=True)
    return env


def wait_for_saved(ws: Path, timeout: float = 30.0) -> list[dict]:
    """The spool's events once it holds a ``file_saved`` (the proxy outlives the editor
    by a moment: it finishes recording after the server exits)."""
    deadline = time.monotonic() + timeout
    while True:
        events = spooled_events(ws)
        if any(e["type"] == "file_saved" for e in events) or time.monotonic() > deadline:
            return events
        time.sleep(0.2)


def assert_editor_session(events: list[dict], ws: Path, tmp_path: Path) -> None:
    """What every editor test asserts of open, go to definition, edit, save.

    The trace starts with ``main.py`` opened, the jump from ``helper`` to
    ``pkg/util.py`` line 1 and that file opened; then only edits, then the save.
    The edits' hashes chain from the opened text to the saved one, and
    ``git apply`` of their patches reproduces the saved file byte for byte.
    """
    from prtrace.hashing import text_hash

    types = [e["type"] for e in events if e["type"] != "diagnostics"]
    assert types[:3] == ["file_opened", "go_to_definition", "file_opened"], types
    assert types[-1] == "file_saved" and set(types[3:-1]) == {"edit"}, types
    opened, nav, opened_util = (
        events[0],
        next(e for e in events if e["type"] == "go_to_definition"),
        next(e for e in events if e["type"] == "file_opened" and e["path"] == "pkg/util.py"),
    )
    assert opened["path"] == "main.py" and opened["hash"] == text_hash(EDITOR_MAIN)
    assert nav["symbol"] == "helper" and nav["path"] == "main.py"
    assert nav["targets"][0]["path"] == "pkg/util.py" and nav["targets"][0]["line"] == 1
    assert opened_util["hash"] == text_hash(EDITOR_UTIL)

    saved_bytes = (ws / "main.py").read_bytes()
    assert saved_bytes == EDITOR_SAVED
    edits = [e for e in events if e["type"] == "edit"]
    saved = next(e for e in events if e["type"] == "file_saved")
    chain = [opened["hash"]] + [h for e in edits for h in (e["before_hash"], e["after_hash"])]
    assert chain[0] == chain[1] and all(
        chain[i] == chain[i + 1] for i in range(2, len(chain) - 1, 2)
    )
    assert edits[-1]["after_hash"] == saved["hash"] == text_hash(saved_bytes.decode())
    replayed = git_apply(EDITOR_MAIN, [e["patch_unified"] for e in edits], tmp_path, "main.py")
    assert replayed.encode() == saved_bytes
