"""Real language servers (pylsp, jedi-language-server) through ``prtrace lsp``, driven
by a real LSP client: open, go to definition, references, edit, save — and the
recorded events replay to the saved file byte for byte."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

from prtrace.hashing import text_hash
from tests.support.lsp_support import LspClient, git_apply, proxy_env, prtrace_cmd, spooled_events
from tests.support.services import service_required

SERVERS = {"pylsp": ["pylsp"], "jedi-language-server": ["jedi-language-server"]}

UTIL = "def helper(x):\n    return x + 1\n"
MAIN = "from pkg.util import helper\n\nprint(helper(2))\n"


def _server(name: str) -> list[str]:
    exe = Path(sys.executable).with_name(SERVERS[name][0])
    if exe.exists():
        return [str(exe), *SERVERS[name][1:]]
    found = shutil.which(SERVERS[name][0])
    if not found:
        service_required(f"{name} is not installed (pip install the dev extra)")
    return [str(found), *SERVERS[name][1:]]


def _workspace(tmp_path: Path) -> Path:
    ws = tmp_path / "ws"
    (ws / "pkg").mkdir(parents=True)
    (ws / "pkg" / "__init__.py").write_text("")
    (ws / "pkg" / "util.py").write_text(UTIL)
    (ws / "main.py").write_text(MAIN)
    return ws


def _type(client: LspClient, uri: str, version: int, line: int, col: int, text: str) -> int:
    """Type ``text`` one character at a time at (line, col), as an editor would send it."""
    for ch in text:
        version += 1
        change = {
            "range": {
                "start": {"line": line, "character": col},
                "end": {"line": line, "character": col},
            },
            "text": ch,
        }
        client.notify(
            "textDocument/didChange",
            {"textDocument": {"uri": uri, "version": version}, "contentChanges": [change]},
        )
        if ch == "\n":
            line, col = line + 1, 0
        else:
            col += 1
    return version


@pytest.mark.parametrize("server", sorted(SERVERS))
def test_real_server_session_is_recorded(tmp_path: Path, server: str) -> None:
    ws = _workspace(tmp_path)
    # A long idle gap: only the navigation and the save may end a burst, however slow CI is.
    client = LspClient(
        [*prtrace_cmd(), "lsp", "--no-upload", "--idle-gap", "60", "--", *_server(server)],
        env=proxy_env(ws),
        cwd=ws,
    )
    client.initialize(ws)
    main_uri = (ws / "main.py").as_uri()
    client.notify(
        "textDocument/didOpen",
        {"textDocument": {"uri": main_uri, "languageId": "python", "version": 1, "text": MAIN}},
    )

    definition = client.request(
        "textDocument/definition",
        {"textDocument": {"uri": main_uri}, "position": {"line": 2, "character": 8}},
    )
    assert definition, "the server found no definition"
    references = client.request(
        "textDocument/references",
        {
            "textDocument": {"uri": main_uri},
            "position": {"line": 2, "character": 8},
            "context": {"includeDeclaration": True},
        },
    )
    assert references

    # Burst 1: a new line at the end, typed; then a navigation ends the burst.
    version = _type(client, main_uri, 1, 3, 0, "value = helper(3)\n")
    client.request(
        "textDocument/definition",
        {"textDocument": {"uri": main_uri}, "position": {"line": 3, "character": 10}},
    )
    # Burst 2: replace "2" with "40" (a range replace), add an undefined name, delete a char.
    version += 1
    client.notify(
        "textDocument/didChange",
        {
            "textDocument": {"uri": main_uri, "version": version},
            "contentChanges": [
                {
                    "range": {
                        "start": {"line": 2, "character": 13},
                        "end": {"line": 2, "character": 14},
                    },
                    "text": "40",
                }
            ],
        },
    )
    version = _type(client, main_uri, version, 4, 0, "print(undefined_name)x")
    version += 1
    client.notify(
        "textDocument/didChange",
        {
            "textDocument": {"uri": main_uri, "version": version},
            "contentChanges": [
                {
                    "range": {
                        "start": {"line": 4, "character": 21},
                        "end": {"line": 4, "character": 22},
                    },
                    "text": "",
                }
            ],
        },
    )
    saved_text = (
        MAIN.replace("helper(2)", "helper(40)") + "value = helper(3)\nprint(undefined_name)"
    )
    (ws / "main.py").write_bytes(saved_text.encode())
    client.notify("textDocument/didSave", {"textDocument": {"uri": main_uri}})
    if server == "pylsp":  # pyflakes reports the undefined name
        client.wait_notification(
            "textDocument/publishDiagnostics",
            where=lambda m: any(d.get("severity") == 1 for d in m["params"]["diagnostics"]),
        )
    client.notify("textDocument/didClose", {"textDocument": {"uri": main_uri}})
    assert client.shutdown() == 0

    events = spooled_events(ws)
    types = [e["type"] for e in events if e["type"] != "diagnostics"]
    assert types == [
        "file_opened",
        "go_to_definition",
        "find_references",
        "edit",
        "go_to_definition",
        "edit",
        "file_saved",
        "file_closed",
    ], types
    opened = events[0]
    assert opened["path"] == "main.py" and opened["language"] == "python"
    assert opened["hash"] == text_hash(MAIN) and opened["size"] == len(MAIN)

    nav = next(e for e in events if e["type"] == "go_to_definition")
    assert nav["path"] == "main.py" and nav["symbol"] == "helper"
    assert nav.get("kind", "definition") == "definition"  # the default is omitted
    assert nav["range"] == {
        "start": {"line": 2, "character": 6},
        "end": {"line": 2, "character": 12},
    }
    assert any(t["path"] in ("pkg/util.py", "main.py") for t in nav["targets"])
    util_targets = [t for t in nav["targets"] if t["path"] == "pkg/util.py"]
    if util_targets:
        assert util_targets[0]["line"] == 1
    assert nav["latency_ms"] > 0

    refs = next(e for e in events if e["type"] == "find_references")
    assert refs["symbol"] == "helper" and refs["count"] >= 2 and "main.py" in refs["files"]

    edits = [e for e in events if e["type"] == "edit"]
    assert edits[0]["op"] == "insert" and edits[0]["changes"] == len("value = helper(3)\n")
    assert edits[0]["range"]["start"] == {"line": 3, "character": 0}
    assert edits[1]["op"] == "replace" and edits[1]["range"]["start"] == {
        "line": 2,
        "character": 13,
    }

    # The hash chain and the patches reproduce the saved file byte for byte.
    saved = next(e for e in events if e["type"] == "file_saved")
    assert opened["hash"] == edits[0]["before_hash"]
    assert edits[0]["after_hash"] == edits[1]["before_hash"]
    assert edits[1]["after_hash"] == saved["hash"] == text_hash(saved_text)
    replayed = git_apply(MAIN, [e["patch_unified"] for e in edits], tmp_path, "main.py")
    assert replayed.encode() == (ws / "main.py").read_bytes()

    if server == "pylsp":
        diags = [e for e in events if e["type"] == "diagnostics"]
        flagged = [e for e in diags if e.get("errors", 0) >= 1]
        assert flagged and any("undefined_name" in i["message"] for i in flagged[-1]["items"])
        assert flagged[-1]["items"][0]["severity"] == "error"

    ids = [e["id"] for e in events]
    assert len(set(ids)) == len(ids)
    assert len({e["session_id"] for e in events}) == 1
