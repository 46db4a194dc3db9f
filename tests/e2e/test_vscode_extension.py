"""A real VS Code: code-server (VS Code 1.139.1) with the native extension
(editor-configs/vscode/prtrace/) built to a .vsix and installed in a fresh profile,
driven by headless Chromium over the DevTools protocol. It opens a repository and a
file, goes to a definition (VS Code's built-in TypeScript/JavaScript support), edits,
saves, runs a failing and a passing command and a builtin in the integrated terminal,
adds a note, pauses and resumes, and finally kills the recorder (the editor carries
on, one warning, nothing spooled is lost). The trace has every event, each command's
exact output, the edits replay to the saved file byte for byte, and a screenshot goes
to test-artifacts/."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from prtrace.hashing import text_hash
from tests.support.cdp import Browser, find_chromium
from tests.support.lsp_support import ROOT, git_apply, spooled_events
from tests.support.services import service_required
from tests.support.vscode import CTRL, SHIFT, CodeServer, Workbench, build_vsix, missing_tools

UTIL = "export function helper(x) {\n  return x + 1;\n}\n"
MAIN = (
    "// @ts-check\n"
    "import { helper } from './util.js';\n"
    "\n"
    "console.log(helper(2));\n"
    "const n = 1;\n"
    "n.foo();\n"
)
SAVED = (
    "// @ts-check\n"
    "import { helper } from './util.js';\n"
    "\n"
    "console.log(helper(4));\n"
    "const n = 1;\n"
    "n.foo();\n"
    "// fixed in vscode\n"
)
FAILING = "python3 -c 'import sys; sys.exit(\"no such file: data.csv\")'"
PASSING = "python3 -c 'print(\"hello from vscode\")'"
NOTE = "the helper is off by one for negative x"
PAUSED_NOTE = "said while paused"
RESUMED_NOTE = "said after resuming"
ARTIFACTS = ROOT / "test-artifacts"


def wait_event(ws: Path, pred: Callable[[dict], bool], what: str, timeout: float = 60) -> dict:
    """The first spooled event matching ``pred``; the timeout only bounds a failure."""
    deadline = time.monotonic() + timeout
    while True:
        for event in spooled_events(ws):
            if pred(event):
                return event
        if time.monotonic() > deadline:
            types = [e["type"] for e in spooled_events(ws)]
            raise AssertionError(f"no {what} event in the spool; it has {types}")
        time.sleep(0.2)


def bridge_pid(ws: Path) -> int:
    """The one ``prtrace editor-bridge`` process the extension started for ``ws``."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            argv = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"editor-bridge" in argv and str(ws).encode() in argv:
            found.append(int(proc.name))
    assert len(found) == 1, found
    return found[0]


def wait_gone(pid: int, timeout: float = 20) -> None:
    """Until ``pid`` has exited (it is code-server's child, reaped by it)."""
    deadline = time.monotonic() + timeout
    while Path(f"/proc/{pid}").exists() and "zombie" not in _state(pid):
        assert time.monotonic() < deadline, f"{pid} is still running"
        time.sleep(0.1)


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/status").read_text().split("State:")[1].split("\n")[0]
    except (OSError, IndexError):
        return "zombie"


def add_note(wb: Workbench, text: str) -> None:
    """prtrace: Add a note, from the command palette."""
    wb.quick_input(("p", CTRL | SHIFT), "prtrace: Add a note")
    wb.accept_quick_input("Add a note", closes=False)
    wb.wait_input_box("prtrace: Add a note")
    wb.type(text)
    wb.key("Enter")


def test_vscode_extension_records_a_session(tmp_path: Path) -> None:
    missing = missing_tools()
    if missing:
        service_required(missing)
    chromium = find_chromium()
    if not chromium:
        service_required("chromium is not installed (apt-get install chromium; ./dev test does)")
    prtrace = Path(sys.executable).with_name("prtrace")
    assert prtrace.is_file(), prtrace

    ws = tmp_path / "repo"
    ws.mkdir()
    (ws / "util.js").write_text(UTIL)
    (ws / "main.js").write_text(MAIN)
    (ws / "package.json").write_text('{ "type": "module" }\n')
    (ws / "sub").mkdir()
    subprocess.run(["git", "init", "-q", str(ws)], check=True)
    (ws / ".prtrace.toml").write_text("[privacy]\n")  # the repository opts in (docs/privacy.md)

    vsix = build_vsix(tmp_path / "prtrace-recorder.vsix")
    server = CodeServer(
        tmp_path / "run",
        vsix,
        {
            "prtrace.recorder.command": str(prtrace),
            "workbench.startupEditor": "none",
            "workbench.tips.enabled": False,
            "security.workspace.trust.enabled": False,
            "terminal.integrated.shellIntegration.enabled": True,
            "terminal.integrated.gpuAcceleration": "off",  # the DOM renderer: text to wait on
            "editor.autoClosingBrackets": "never",
            "editor.quickSuggestions": {"other": False, "comments": False, "strings": False},
            "git.enabled": False,
        },
        path_prefix=str(prtrace.parent),
    )
    browser: Browser | None = None
    try:
        url = server.start(ws)
        browser = Browser(chromium)
        wb = Workbench(browser)
        wb.open(url)
        # The extension is active and its bridge says the workspace records.
        wb.wait_status("prtrace: recording", 90)

        # Open main.js (Ctrl+P).
        wb.quick_input(("p", CTRL), "main.js")
        wb.accept_quick_input("main.js")
        opened = wait_event(
            ws, lambda e: e["type"] == "file_opened" and e["path"] == "main.js", "file_opened"
        )
        diagnostics = wait_event(
            ws, lambda e: e["type"] == "diagnostics" and e["path"] == "main.js", "diagnostics"
        )

        # Go to the definition of `helper` (Ctrl+G 4:15, F12). The TypeScript server may
        # still be starting: ask again until the editor lands in util.js.
        deadline = time.monotonic() + 90
        while wb.active_tab() != "util.js":
            assert time.monotonic() < deadline, "F12 never reached util.js"
            wb.quick_input(("g", CTRL), "4:15")
            wb.accept_quick_input()
            wb.key("F12")
            end = time.monotonic() + 10
            while wb.active_tab() != "util.js" and time.monotonic() < end:
                time.sleep(0.2)
        nav = wait_event(ws, lambda e: e["type"] == "go_to_definition", "go_to_definition")

        # Ctrl+click on `helper` in the import (line 2): to util.js again, by mouse.
        wb.open_file("main.js")
        wb.ctrl_click(*wb.word_center(2, "helper"))
        wb.wait_active("util.js")
        clicked = wait_event(
            ws,
            lambda e: e["type"] == "go_to_definition" and e["id"] != nav["id"],
            "the Ctrl+click go_to_definition",
        )

        # Find references (Shift+F12 on the call): a peek, then Escape.
        wb.open_file("main.js")
        wb.quick_input(("g", CTRL), "4:15")
        wb.accept_quick_input()
        wb.key("F12", SHIFT)
        refs = wait_event(ws, lambda e: e["type"] == "find_references", "find_references")
        wb.key("Escape")

        # Two edits in two bursts, each seen in the editor before going on, then save.
        wb.key("End", CTRL)
        wb.type("// fixed in vscode\n")
        wb.wait_line(7, "// fixed in vscode")
        wait_event(ws, lambda e: e["type"] == "edit", "the first edit")
        wb.quick_input(("g", CTRL), "4:20")
        wb.accept_quick_input()
        wb.key("ArrowRight", SHIFT)
        wb.type("4")
        wb.wait_line(4, "console.log(helper(4));")
        wb.key("s", CTRL)
        saved = wait_event(
            ws,
            lambda e: e["type"] == "file_saved" and e["hash"] == text_hash(SAVED),
            "file_saved of the final text",
        )

        # The integrated terminal: a failing and a passing command.
        wb.key("`", CTRL)
        wb.wait_prompt()
        # Two programs, then a builtin, whose output shares the shell's chunk with its
        # start and end marks (it used to be lost: see readAttached in extension.js).
        wb.type(FAILING)
        wb.key("Enter")
        failed = wait_event(ws, lambda e: e["type"] == "terminal_command", "terminal_command")
        wb.type(PASSING)
        wb.key("Enter")
        passed = wait_event(
            ws,
            lambda e: e["type"] == "terminal_command" and e["cmd"] == PASSING,
            "the second terminal_command",
        )
        wb.type("cd sub && pwd")
        wb.key("Enter")
        builtin = wait_event(
            ws,
            lambda e: e["type"] == "terminal_command" and e["cmd"].startswith("cd"),
            "the third terminal_command",
        )

        # A note, from the command palette.
        add_note(wb, NOTE)
        thought = wait_event(ws, lambda e: e["type"] == "thought", "thought")

        # Pause and resume from the palette: the status bar follows, and a note made while
        # paused is not kept. The bridge reads lines in order, so once the note after
        # Resume is spooled the paused one was seen (and dropped).
        wb.command("prtrace: Pause recording")
        wb.wait_status("prtrace: paused")
        add_note(wb, PAUSED_NOTE)
        wb.command("prtrace: Resume recording")
        wb.wait_status("prtrace: recording")
        add_note(wb, RESUMED_NOTE)
        resumed = wait_event(
            ws, lambda e: e["type"] == "thought" and e["raw"] == RESUMED_NOTE, "the resumed note"
        )

        ARTIFACTS.mkdir(exist_ok=True)
        browser.screenshot(ARTIFACTS / "vscode-extension.png", full_page=False)

        # The recorder dies: the extension says so once, the status bar says stopped, the
        # editor carries on (an edit and a save reach the disk), nothing more is spooled
        # and nothing spooled before is lost.
        before_kill = spooled_events(ws)
        pid = bridge_pid(ws)
        os.kill(pid, signal.SIGKILL)
        wait_gone(pid)
        warning = wb.wait_notification("prtrace: the recorder exited")
        wb.wait_status("prtrace: stopped")
        at_kill = spooled_events(ws)
        wb.open_file("util.js")
        wb.key("End", CTRL)
        wb.type("// after the recorder\n")
        wb.wait_line(4, "// after the recorder")
        wb.key("s", CTRL)
        deadline = time.monotonic() + 20
        while not (ws / "util.js").read_text().endswith("// after the recorder\n"):
            assert time.monotonic() < deadline, "the save after the recorder died did not land"
            time.sleep(0.1)
        wb.command("Notifications: Show Notifications")
        warnings = [m for m in wb.notifications(center=True) if "prtrace: the recorder" in m]
        after_kill = spooled_events(ws)
    except BaseException:
        if browser is not None:
            ARTIFACTS.mkdir(exist_ok=True)
            try:
                browser.screenshot(ARTIFACTS / "vscode-extension-failure.png", full_page=False)
            except Exception:
                pass
        ARTIFACTS.mkdir(exist_ok=True)
        (ARTIFACTS / "vscode-extension-events.json").write_text(
            json.dumps(spooled_events(ws), indent=1)
        )
        print(server.logs()[-4000:])
        raise
    finally:
        if browser is not None:
            browser.close()
        server.stop()

    events = spooled_events(ws)
    (ARTIFACTS / "vscode-extension-events.json").write_text(json.dumps(events, indent=1))
    assert all(e["source"] == "vscode" for e in events), {e["source"] for e in events}
    assert len({e["session_id"] for e in events}) == 1

    # file_opened: the text VS Code opened, hashed.
    assert opened["hash"] == text_hash(MAIN) and opened["language"] == "javascript"
    assert opened["size"] == len(MAIN.encode()) and opened["version"] == 1
    # diagnostics: the @ts-check error on n.foo() (VS Code's severities, counted).
    assert diagnostics["errors"] == 1 and "warnings" not in diagnostics, diagnostics  # 0: omitted
    assert "foo" in diagnostics["items"][0]["message"]
    assert diagnostics["items"][0]["range"]["start"] == {"line": 5, "character": 2}
    # go_to_definition: the word at the cursor, the target in util.js, a latency.
    assert nav["path"] == "main.js" and nav["symbol"] == "helper" and "kind" not in nav
    assert nav["range"] == {
        "start": {"line": 3, "character": 12},
        "end": {"line": 3, "character": 18},
    }
    assert nav["targets"][0]["path"] == "util.js" and nav["targets"][0]["line"] == 1, nav
    assert nav["latency_ms"] >= 0
    opened_util = next(e for e in events if e["type"] == "file_opened" and e["path"] == "util.js")
    assert opened_util["hash"] == text_hash(UTIL)

    # Ctrl+click: the same target, from the import's `helper` (line 2).
    assert clicked["path"] == "main.js" and clicked["symbol"] == "helper", clicked
    assert clicked["range"]["start"] == {"line": 1, "character": 9}
    assert clicked["targets"][0]["path"] == "util.js" and clicked["latency_ms"] >= 0
    # find_references: the definition, the import and the call.
    assert refs["path"] == "main.js" and refs["symbol"] == "helper", refs
    assert refs["count"] == 3 and set(refs["files"]) == {"main.js", "util.js"}, refs

    # The edits replay to the saved file byte for byte, their hashes chain, and every
    # save's hash is the text the edits before it made.
    saved_bytes = (ws / "main.js").read_bytes()
    assert saved_bytes == SAVED.encode()
    edits = [e for e in events if e["type"] == "edit" and e["path"] == "main.js"]
    assert len(edits) == 2, edits
    assert [e["op"] for e in edits] == ["insert", "replace"]
    # The workbench types insertText one character at a time: 19 changes, one edit.
    assert [e.get("changes", 1) for e in edits] == [len("// fixed in vscode\n"), 1]
    assert edits[0]["before_hash"] == opened["hash"]
    assert edits[1]["before_hash"] == edits[0]["after_hash"]
    assert edits[1]["after_hash"] == saved["hash"] == text_hash(SAVED)
    assert edits[1]["range"] == {
        "start": {"line": 3, "character": 19},
        "end": {"line": 3, "character": 20},
    }
    assert git_apply(MAIN, [e["patch_unified"] for e in edits], tmp_path, "main.js") == SAVED
    after = {e["after_hash"] for e in edits}
    saves = [e for e in events if e["type"] == "file_saved" and e["path"] == "main.js"]
    assert saves[-1] == saved and all(e["hash"] in after for e in saves), saves

    # The terminal commands: command line, exit code, output without escapes, cwd.
    assert failed["cmd"] == FAILING and failed["exit_code"] == 1, failed
    assert passed["cmd"] == PASSING and passed["exit_code"] == 0, passed
    # Every command's output, exactly (merged streams, escapes stripped), the builtin's too.
    assert failed["stdout"] == "no such file: data.csv\n" and failed["output_merged"], failed
    assert passed["stdout"] == "hello from vscode\n", passed
    assert builtin["stdout"] == f"{ws / 'sub'}\n", builtin
    assert failed["args"] == ["python3", "-c", 'import sys; sys.exit("no such file: data.csv")']
    assert builtin["exit_code"] == 0
    for command in (failed, passed, builtin):
        assert command["cwd"] == "." and command["duration_ms"] >= 0, command
        assert command["output_bytes"] == len(command["stdout"].encode()), command
        assert "\x1b" not in command["stdout"], command

    # The note.
    assert thought["raw"] == NOTE and "tags" not in thought  # none: omitted
    # Pause: the note made meanwhile was not kept; the one after Resume was.
    notes = [e["raw"] for e in events if e["type"] == "thought"]
    assert notes == [NOTE, RESUMED_NOTE], notes
    assert resumed["t"] > thought["t"], (thought, resumed)
    # The recorder gone: one warning, everything spooled is still there, nothing new.
    assert "nothing more is recorded" in warning and len(warnings) == 1, warnings
    ids = [e["id"] for e in before_kill]
    assert [e["id"] for e in at_kill][: len(ids)] == ids, "events spooled before were lost"
    assert after_kill == at_kill == events, "something was recorded after the recorder died"

    order = [e["type"] for e in events if e["type"] != "diagnostics"]
    assert order.index("go_to_definition") < order.index("edit") < order.index("file_saved")
    assert order.index("file_saved") < order.index("terminal_command") < order.index("thought")
    assert (ARTIFACTS / "vscode-extension.png").stat().st_size > 10_000
