"""The demo's session, captured by the real recorder.

A developer's work on the sample is replayed through the same programs a
developer runs, so everything in the trace comes from the recorder:
``prtrace record start`` (the trace and the session daemon: watcher, git),
``prtrace run`` for the test runs and the commit, ``prtrace note`` for the
thoughts, and a real language server (pylsp) behind ``prtrace lsp`` driven by
:class:`ScriptedEditor`, a small LSP client that opens files, follows
definitions and references, edits and saves as an editor would; then
``prtrace record stop`` computes the final patch and seals the trace.

The steps and the edits are those of :func:`prtrace.demo.sample.recorded_session`
(the scripted session the tests compare against), so the final patch is the same.
"""

from __future__ import annotations

import importlib.util
import json
import os
import queue
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from prtrace.demo.sample import FAIL_TO_PASS, FIX_MESSAGE, TEST_COMMAND, TEST_IMAGE
from prtrace.demo.server import prtrace_command
from prtrace.errors import PrtraceError
from prtrace.recorder.lsp.framing import MessageFramer, frame

TITLE = "Valuation report total is a few cents short"
DESCRIPTION = (
    "The closing report says $70.28 where the CSV export adds up to $70.32. "
    "Find out why and fix it."
)
_DEVELOPER = ("Dana Developer", "dana@example.com")


def pylsp_command() -> list[str]:
    """pylsp from this interpreter's environment (the ``all`` extra installs it)."""
    beside = Path(sys.executable).with_name("pylsp")
    if beside.is_file():
        return [str(beside)]
    found = shutil.which("pylsp")
    if found:
        return [found]
    raise PrtraceError(
        "the demo drives a real language server and pylsp is not installed: "
        "pip install 'prtrace[all]' (./dev demo does)"
    )


# --- a scripted editor ------------------------------------------------------------


def _position(text: str, offset: int) -> dict[str, int]:
    """The LSP position of ``offset`` (the sample is ASCII: UTF-16 units = characters)."""
    line = text.count("\n", 0, offset)
    return {"line": line, "character": offset - (text.rfind("\n", 0, offset) + 1)}


def _offset_of(text: str, needle: str, symbol: str) -> int:
    if text.count(needle) != 1:
        raise PrtraceError(f"demo: {needle!r} occurs {text.count(needle)} times in the sample")
    return text.index(needle) + needle.index(symbol)


class ScriptedEditor:
    """An LSP client over ``prtrace lsp -- pylsp``'s pipes that behaves like an editor.

    It speaks the base protocol with the recorder's own framing, answers the
    server's requests as a plain editor does, keeps each open buffer's text, and
    sends incremental ``didChange`` edits; ``save`` writes the buffer to disk
    first, as an editor does, then says ``didSave``.
    """

    def __init__(self, argv: list[str], root: Path, env: dict[str, str]) -> None:
        self.root = root
        self.proc = subprocess.Popen(
            argv,
            cwd=root,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            bufsize=0,
        )
        self.texts: dict[str, str] = {}
        self.versions: dict[str, int] = {}
        self._next_id = 0
        self._answers: dict[int, dict[str, Any]] = {}
        self._cond = threading.Condition()
        self._lock = threading.Lock()
        self.notifications: queue.SimpleQueue[dict[str, Any]] = queue.SimpleQueue()
        self._stderr = bytearray()
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=self._read_stderr, daemon=True).start()

    # --- the wire ---

    def _send(self, message: dict[str, Any]) -> None:
        assert self.proc.stdin is not None
        with self._lock:
            self.proc.stdin.write(frame(json.dumps(message).encode()))
            self.proc.stdin.flush()

    def _read(self) -> None:
        framer = MessageFramer()
        assert self.proc.stdout is not None
        while data := self.proc.stdout.read(65536):
            for body in framer.feed(data):
                message = json.loads(body)
                if "method" in message and "id" in message:
                    self._answer(message)
                elif "method" in message:
                    self.notifications.put(message)
                else:
                    with self._cond:
                        self._answers[message["id"]] = message
                        self._cond.notify_all()
        with self._cond:
            self._cond.notify_all()

    def _read_stderr(self) -> None:
        assert self.proc.stderr is not None
        while data := self.proc.stderr.read(4096):
            self._stderr += data

    def _answer(self, request: dict[str, Any]) -> None:
        result: Any = None
        if request["method"] == "workspace/configuration":
            result = [None for _ in request.get("params", {}).get("items", [])]
        try:
            self._send({"jsonrpc": "2.0", "id": request["id"], "result": result})
        except OSError:
            pass

    def request(self, method: str, params: Any, timeout: float = 60.0) -> Any:
        self._next_id += 1
        rid = self._next_id
        self._send({"jsonrpc": "2.0", "id": rid, "method": method, "params": params})
        deadline = time.monotonic() + timeout
        with self._cond:
            while rid not in self._answers:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    tail = self._stderr.decode(errors="replace")[-1500:]
                    raise PrtraceError(f"demo: pylsp did not answer {method}: {tail}")
                self._cond.wait(0.2)
            answer = self._answers.pop(rid)
        if "error" in answer:
            raise PrtraceError(f"demo: {method} failed: {answer['error']}")
        return answer.get("result")

    def notify(self, method: str, params: Any) -> None:
        self._send({"jsonrpc": "2.0", "method": method, "params": params})

    def wait_for(self, method: str, where: Callable[[dict], bool], timeout: float) -> bool:
        """Wait (at most ``timeout``) for a notification; False if none came."""
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                message = self.notifications.get(timeout=left)
            except queue.Empty:
                return False
            if message["method"] == method and where(message.get("params", {})):
                return True
        return False

    # --- what an editor does ---

    def uri(self, path: str) -> str:
        return (self.root / path).as_uri()

    def initialize(self) -> None:
        self.request(
            "initialize",
            {
                "processId": os.getpid(),
                "rootUri": self.root.as_uri(),
                "workspaceFolders": [{"uri": self.root.as_uri(), "name": self.root.name}],
                "clientInfo": {"name": "prtrace demo"},
                "capabilities": {
                    "textDocument": {
                        "synchronization": {"didSave": True},
                        "definition": {"linkSupport": False},
                        "references": {},
                        "publishDiagnostics": {},
                    },
                    "workspace": {"configuration": True, "workspaceFolders": True},
                },
            },
        )
        self.notify("initialized", {})

    def open(self, path: str) -> None:
        text = (self.root / path).read_text(encoding="utf-8")
        self.texts[path], self.versions[path] = text, 1
        self.notify(
            "textDocument/didOpen",
            {
                "textDocument": {
                    "uri": self.uri(path),
                    "languageId": "python",
                    "version": 1,
                    "text": text,
                }
            },
        )

    def _at(self, path: str, needle: str, symbol: str) -> dict[str, Any]:
        offset = _offset_of(self.texts[path], needle, symbol)
        return {
            "textDocument": {"uri": self.uri(path)},
            "position": _position(self.texts[path], offset + 1),
        }

    def definition(self, path: str, needle: str, symbol: str) -> Any:
        return self.request("textDocument/definition", self._at(path, needle, symbol))

    def references(self, path: str, needle: str, symbol: str) -> Any:
        params = self._at(path, needle, symbol) | {"context": {"includeDeclaration": True}}
        return self.request("textDocument/references", params)

    def edit(self, path: str, old: str, new: str) -> None:
        """Replace the one ``old`` in the buffer by ``new``: one incremental change."""
        before = self.texts[path]
        if before.count(old) != 1:
            raise PrtraceError(f"demo: {path}: {old!r} occurs {before.count(old)} times")
        start = before.index(old)
        end = start + len(old)
        self.texts[path] = before[:start] + new + before[end:]
        self.versions[path] += 1
        self.notify(
            "textDocument/didChange",
            {
                "textDocument": {"uri": self.uri(path), "version": self.versions[path]},
                "contentChanges": [
                    {
                        "range": {"start": _position(before, start), "end": _position(before, end)},
                        "text": new,
                    }
                ],
            },
        )

    def save(self, path: str) -> None:
        (self.root / path).write_bytes(self.texts[path].encode("utf-8"))
        self.notify("textDocument/didSave", {"textDocument": {"uri": self.uri(path)}})

    def close(self, path: str) -> None:
        self.notify("textDocument/didClose", {"textDocument": {"uri": self.uri(path)}})
        self.texts.pop(path, None)

    def shutdown(self, timeout: float = 30.0) -> int:
        try:
            self.request("shutdown", None, timeout=timeout)
            self.notify("exit", None)
        except (PrtraceError, OSError):
            pass
        try:
            assert self.proc.stdin is not None
            self.proc.stdin.close()
        except OSError:
            pass
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()


# --- the session ------------------------------------------------------------------


def demo_env(home: Path, url: str, token: str) -> dict[str, str]:
    """The environment of every program the demo runs: its server, no user config."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PRTRACE_")}
    env.update(
        PRTRACE_URL=url,
        PRTRACE_API_TOKEN=token,
        XDG_CONFIG_HOME=str(home / "config"),
        XDG_DATA_HOME=str(home / "data"),
        GIT_CONFIG_GLOBAL=os.devnull,
        GIT_CONFIG_NOSYSTEM="1",
        GIT_AUTHOR_NAME=_DEVELOPER[0],
        GIT_AUTHOR_EMAIL=_DEVELOPER[1],
        GIT_COMMITTER_NAME=_DEVELOPER[0],
        GIT_COMMITTER_EMAIL=_DEVELOPER[1],
        PYTHONDONTWRITEBYTECODE="1",
    )
    return env


def test_argv() -> list[str]:
    """The sample's tests with this interpreter's pytest, else a one-line check of the
    bug (pytest is a test dependency, not a runtime one)."""
    if importlib.util.find_spec("pytest") is not None:
        return [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    return [
        sys.executable,
        "-c",
        (
            "from inventory.parsing import parse_price; cents = parse_price('19.99'); "
            "print(cents); assert cents == 1999, f'19.99 parses as {cents} cents'"
        ),
    ]


class LiveSession:
    """Runs the developer's session on ``repo`` through the real recorder."""

    def __init__(self, repo: Path, env: dict[str, str], say: Callable[[str], None]) -> None:
        self.repo, self.env, self.say = repo, env, say
        self.prtrace = prtrace_command()

    def _prtrace(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [*self.prtrace, *args],
            cwd=self.repo,
            env=self.env,
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            timeout=600,
            check=False,
        )
        if check and done.returncode != 0:
            raise PrtraceError(
                f"demo: prtrace {' '.join(args[:2])} failed ({done.returncode}): "
                + (done.stderr.strip() or done.stdout.strip())[-1500:]
            )
        return done

    def run(self, *argv: str) -> int:
        done = self._prtrace("run", "--", *argv, check=False)
        self.say(
            f"prtrace run -- {' '.join(argv[:4])}{' …' if len(argv) > 4 else ''}: "
            f"exit {done.returncode}"
        )
        return done.returncode

    def note(self, text: str, *tags: str) -> None:
        self._prtrace("note", *[a for tag in tags for a in ("--tag", tag)], text)
        self.say(f"prtrace note [{', '.join(tags)}]")

    def start(self) -> dict[str, Any]:
        done = self._prtrace(
            "record", "start", "--json", "--title", TITLE, "--description", DESCRIPTION,
            "--developer", "demo", "--test-command", TEST_COMMAND, "--test-image", TEST_IMAGE,
            "--editor", "prtrace demo (a scripted LSP client)",
            *[a for test in FAIL_TO_PASS for a in ("--fail-to-pass", test)],
        )  # fmt: skip
        started: dict[str, Any] = json.loads(done.stdout)
        self.say(f"prtrace record start: trace {started.get('trace_id')}, session daemon up")
        return started

    def stop(self) -> dict[str, Any]:
        done = self._prtrace("record", "stop", "--json", "--timeout", "120")
        stopped: dict[str, Any] = json.loads(done.stdout)
        self.say(f"prtrace record stop: {stopped.get('status')}, {stopped.get('events')} events")
        return stopped

    def work(self) -> None:
        """The developer's steps (those of sample.recorded_session), for real."""
        tests = test_argv()
        self.run(*tests)
        self.note(
            "test_summary_total_matches_export: total is $70.28, expected $70.32 - 4 cents "
            "short. The unit prices in the report are already off ($19.98 for the widget, "
            "$4.34 for the gadget), so the total is not the problem.",
            "observation",
        )
        editor = ScriptedEditor([*self.prtrace, "lsp", "--", *pylsp_command()], self.repo, self.env)
        try:
            editor.initialize()
            self.say("prtrace lsp -- pylsp: initialized")
            self._navigate(editor)
            self.run(sys.executable, "-c", "print(float('19.99') * 100)")
            self.note(
                "There it is: float('19.99') * 100 == 1998.9999999999998 and int() truncates "
                "it to 1998. parse_price has the bug, not the report.",
                "root-cause",
            )
            self._fix(editor, tests)
            editor.close("tests/test_report.py")
        finally:
            code = editor.shutdown()
            self.say(f"pylsp shut down (exit {code})")
        self.run("git", "commit", "-q", "-am", FIX_MESSAGE)

    def _navigate(self, editor: ScriptedEditor) -> None:
        editor.open("tests/test_report.py")
        editor.open("inventory/report.py")
        found = editor.definition(
            "inventory/report.py", "format_cents(item.unit_price_cents)", "format_cents"
        )
        self.say(f"go to definition of format_cents: {_where(found)}")
        editor.open("inventory/models.py")
        self.note(
            "format_cents is integer divmod, it cannot lose a cent. The cents must already be "
            "wrong when the items are built. Who sets unit_price_cents?",
            "hypothesis",
        )
        refs = editor.references(
            "inventory/models.py", "    unit_price_cents: int", "unit_price_cents"
        )
        self.say(f"references of unit_price_cents: {len(refs or [])}")
        editor.open("inventory/parsing.py")
        found = editor.definition(
            "inventory/parsing.py", 'unit_price_cents=parse_price(row["price"])', "parse_price"
        )
        self.say(f"go to definition of parse_price: {_where(found)}")

    def _fix(self, editor: ScriptedEditor, tests: list[str]) -> None:
        parsing = "inventory/parsing.py"
        # A first try that does not work: rounding the float first.
        editor.edit(
            parsing,
            "    return int(float(cleaned) * 100)\n",
            "    return int(round(float(cleaned), 2) * 100)\n",
        )
        editor.save(parsing)
        self.run(*tests)
        self.note(
            "round(19.99, 2) is the same binary float, times 100 is still 1998.999... "
            "Rounding floats cannot fix this. Reverting; parse the decimal string exactly "
            "instead.",
            "dead-end",
            "failed-attempt",
        )
        editor.edit(
            parsing,
            "    return int(round(float(cleaned), 2) * 100)\n",
            "    return int(float(cleaned) * 100)\n",
        )
        # The fix: Decimal, rounding half up to whole cents.
        editor.edit(
            parsing,
            "import csv\nimport io\n",
            "import csv\nimport io\nfrom decimal import ROUND_HALF_UP, Decimal, InvalidOperation\n",
        )
        # pylsp's pyflakes flags the three names unused until the code uses them.
        editor.wait_for(
            "textDocument/publishDiagnostics",
            lambda p: p.get("uri") == editor.uri(parsing) and bool(p.get("diagnostics")),
            10.0,
        )
        editor.edit(
            parsing,
            "    return int(float(cleaned) * 100)\n",
            "    try:\n"
            "        cents = Decimal(cleaned) * 100\n"
            "    except InvalidOperation:\n"
            '        raise ValueError(f"bad price: {text!r}") from None\n'
            "    # Exact decimal arithmetic: float('19.99') * 100 is 1998.999..., not 1999.\n"
            "    return int(cents.quantize(Decimal(1), rounding=ROUND_HALF_UP))\n",
        )
        editor.save(parsing)
        if self.run(*tests) != 0:
            raise PrtraceError("demo: the sample's tests still fail after the fix")
        self.note(
            "All 12 pass. Prices are now parsed with Decimal and rounded half up to cents; "
            "nothing else needed to change.",
            "verified",
        )


def _where(result: Any) -> str:
    items = result if isinstance(result, list) else [result] if result else []
    if not items:
        return "nothing"
    first = items[0]
    uri = first.get("uri") or first.get("targetUri", "")
    line = (first.get("range") or first.get("targetRange") or {}).get("start", {}).get("line", 0)
    return f"{uri.rsplit('/', 2)[-2:] and '/'.join(uri.rsplit('/', 2)[-2:])}:{line + 1}"
