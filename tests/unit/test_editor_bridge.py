"""``prtrace editor-bridge``'s lines → events, in process (the VS Code extension's side
is tested in a real code-server: tests/e2e/test_vscode_extension.py)."""

from __future__ import annotations

import json
from pathlib import Path

from prtrace.hashing import text_hash
from prtrace.recorder.lsp.bridge import Bridge
from prtrace.recorder.pipeline.privacy import set_paused
from prtrace.recorder.terminal.commands import OUTPUT_CAP
from tests.support.lsp_support import spooled_events

T0 = 1_800_000_000.0


def workspace(tmp_path: Path, opt_in: bool = True) -> Path:
    ws = tmp_path / "ws"
    (ws / ".git").mkdir(parents=True)
    if opt_in:
        (ws / ".prtrace.toml").write_text("[privacy]\n")
    return ws


def line(**fields: object) -> bytes:
    return json.dumps(fields).encode() + b"\n"


def lsp(t: float, message: dict, direction: str = "c2s") -> bytes:
    return line(t=t, dir=direction, lsp={"jsonrpc": "2.0", **message})


def uri(ws: Path, name: str) -> str:
    return (ws / name).as_uri()


def test_documents_and_edits_go_through_the_lsp_recorder(tmp_path: Path) -> None:
    ws = workspace(tmp_path)
    bridge = Bridge(ws)
    u = uri(ws, "a.js")
    text = "let x = 1;\n"
    bridge.feed(
        lsp(
            T0,
            {
                "method": "textDocument/didOpen",
                "params": {
                    "textDocument": {
                        "uri": u,
                        "languageId": "javascript",
                        "version": 1,
                        "text": text,
                    }
                },
            },
        )
    )
    # Two keystrokes in one burst (UTF-16 ranges: "é" is one unit, "😀" two).
    for i, (ch, col) in enumerate((("é", 10), ("😀", 11))):
        bridge.feed(
            lsp(
                T0 + 0.1 * (i + 1),
                {
                    "method": "textDocument/didChange",
                    "params": {
                        "textDocument": {"uri": u, "version": 2 + i},
                        "contentChanges": [
                            {
                                "range": {
                                    "start": {"line": 0, "character": col},
                                    "end": {"line": 0, "character": col},
                                },
                                "text": ch,
                            }
                        ],
                    },
                },
            )
        )
    after = "let x = 1;é😀\n"
    bridge.feed(
        lsp(
            T0 + 0.5,
            {
                "method": "textDocument/didSave",
                "params": {"textDocument": {"uri": u}, "text": after},
            },
        )
    )
    bridge.feed(
        lsp(T0 + 0.6, {"method": "textDocument/didClose", "params": {"textDocument": {"uri": u}}})
    )
    bridge.close()
    bridge.flush()
    events = spooled_events(ws)
    assert [e["type"] for e in events] == ["file_opened", "edit", "file_saved", "file_closed"]
    opened, edit, saved, _ = events
    assert opened["hash"] == text_hash(text) and opened["language"] == "javascript"
    assert edit["changes"] == 2 and edit["op"] == "insert" and edit["version"] == 3
    assert edit["before_hash"] == opened["hash"] and edit["after_hash"] == text_hash(after)
    assert edit["range"]["start"] == {"line": 0, "character": 10}
    assert "+let x = 1;é😀\n" in edit["patch_unified"]
    assert saved["hash"] == text_hash(after)
    assert {e["source"] for e in events} == {"vscode"}


def test_navigation_request_and_answer_make_go_to_definition(tmp_path: Path) -> None:
    ws = workspace(tmp_path)
    bridge = Bridge(ws)
    u, target = uri(ws, "main.js"), uri(ws, "util.js")
    bridge.feed(
        lsp(
            T0,
            {
                "method": "textDocument/didOpen",
                "params": {
                    "textDocument": {
                        "uri": u,
                        "languageId": "javascript",
                        "version": 1,
                        "text": "helper(2);\n",
                    }
                },
            },
        )
    )
    position = {"textDocument": {"uri": u}, "position": {"line": 0, "character": 2}}
    bridge.feed(lsp(T0 + 1, {"id": "v-1", "method": "textDocument/definition", "params": position}))
    rng = {"start": {"line": 0, "character": 16}, "end": {"line": 0, "character": 22}}
    bridge.feed(lsp(T0 + 1.25, {"id": "v-1", "result": [{"uri": target, "range": rng}]}, "s2c"))
    bridge.feed(lsp(T0 + 2, {"id": "v-2", "method": "textDocument/references", "params": position}))
    bridge.feed(
        lsp(
            T0 + 2.5,
            {"id": "v-2", "result": [{"uri": target, "range": rng}, {"uri": u, "range": rng}]},
            "s2c",
        )
    )
    bridge.flush()
    nav, refs = spooled_events(ws)[1:]
    assert nav["type"] == "go_to_definition" and nav["symbol"] == "helper"
    assert nav["latency_ms"] == 250.0 and "kind" not in nav  # the default: definition
    assert nav["targets"] == [{"path": "util.js", "line": 1, "range": rng}]
    assert refs["type"] == "find_references" and refs["count"] == 2
    assert refs["files"] == ["util.js", "main.js"] and refs["latency_ms"] == 500.0


def test_terminal_commands_are_cleaned_and_capped(tmp_path: Path) -> None:
    ws = workspace(tmp_path)
    bridge = Bridge(ws)
    bridge.feed(line(kind="terminal_start", t=T0, id=1, cmd="ls nope", cwd=str(ws)))
    bridge.feed(
        line(kind="terminal_output", id=1, data="\x1b]633;C\x07\x1b[31mls: nope\x1b[0m\r\n")
    )
    bridge.feed(line(kind="terminal_end", t=T0 + 0.5, id=1, exit_code=2, cmd="ls nope"))
    bridge.feed(line(kind="terminal_start", t=T0 + 1, id=2, cmd="yes", cwd=str(ws / "sub")))
    chunk = "y\n" * 100_000
    for _ in range(6):
        bridge.feed(line(kind="terminal_output", id=2, data=chunk))
    bridge.feed(line(kind="terminal_end", t=T0 + 2, id=2, exit_code=130))
    bridge.flush()
    failed, long = spooled_events(ws)
    assert failed["cmd"] == "ls nope" and failed["exit_code"] == 2 and failed["cwd"] == "."
    assert failed["stdout"] == "ls: nope\n" and failed["output_merged"] is True
    assert failed["duration_ms"] == 500.0 and failed["args"] == ["ls", "nope"]
    assert long["truncated"] is True and long["output_bytes"] == 1_200_000
    assert len(long["stdout"]) < OUTPUT_CAP + 100 and long["cwd"] == "sub"
    kept = list((ws / ".prtrace" / "outputs").glob("*.output.txt"))
    assert [p.name for p in kept] == [f"{long['id']}.output.txt"]
    assert kept[0].read_text() == chunk * 6


def test_notes_pause_and_opt_in(tmp_path: Path) -> None:
    ws = workspace(tmp_path)
    statuses: list[dict] = []
    bridge = Bridge(ws, write_status=statuses.append)
    bridge.feed(line(kind="note", t=T0, text="  off by one  ", tags=["hypothesis"]))
    set_paused(ws, True)
    bridge.feed(line(kind="note", t=T0 + 1, text="while paused"))
    bridge.feed(line(kind="status"))
    bridge.flush()
    (thought,) = spooled_events(ws)
    assert thought["type"] == "thought" and thought["raw"] == "off by one"
    assert thought["tags"] == ["hypothesis"]
    assert statuses[-1]["paused"] is True and statuses[-1]["recording"] is False
    assert statuses[-1]["opted_in"] is True and statuses[-1]["session"] is None

    other = workspace(tmp_path / "other", opt_in=False)
    quiet = Bridge(other)
    quiet.feed(line(kind="note", t=T0, text="not kept"))
    quiet.flush()
    assert not (other / ".prtrace").exists()
    assert quiet.status()["opted_in"] is False


def test_bad_lines_are_counted_not_fatal(tmp_path: Path) -> None:
    ws = workspace(tmp_path)
    bridge = Bridge(ws)
    bridge.feed(b"not json\n")
    bridge.feed(line(kind="lsp", lsp={"jsonrpc": "2.0", "method": "textDocument/didOpen"}))
    bridge.feed(line(kind="lsp", lsp={"method": "textDocument/didOpen", "params": {"x": 1}}))
    bridge.feed(line(kind="from-a-newer-extension", t=T0))
    bridge.feed(line(kind="note", t=T0, text="still recording"))
    bridge.flush()
    assert bridge.errors == 2 and bridge.lines == 5
    assert [e["type"] for e in spooled_events(ws)] == ["thought"]
