"""The proxy is transparent: every byte both ways, unchanged, in order; exit codes,
stderr and shutdown behave as if the editor had started the server itself."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from prtrace.recorder.lsp.framing import frame
from tests.support.lsp_support import FAKE_SERVER, LspClient, proxy_env, prtrace_cmd, spooled_events

FAKE = FAKE_SERVER


def _start(tmp_path: Path, exit_code: int = 0) -> tuple[LspClient, Path, Path]:
    stdin_log, stdout_log = tmp_path / "server-in.bin", tmp_path / "server-out.bin"
    argv = [
        *prtrace_cmd(),
        "lsp",
        "--no-upload",
        "--",
        sys.executable,
        str(FAKE),
        str(stdin_log),
        str(stdout_log),
        str(exit_code),
    ]
    return LspClient(argv, env=proxy_env(tmp_path)), stdin_log, stdout_log


def test_bytes_reach_both_sides_unchanged(tmp_path: Path) -> None:
    client, stdin_log, stdout_log = _start(tmp_path, exit_code=3)
    client.initialize(tmp_path)
    uri = (tmp_path / "big.py").as_uri()
    # A partial header, then the rest; several messages in one write; a Content-Type
    # header; a multi-megabyte didOpen; a cancelled request.
    opened = frame(
        json.dumps(
            {
                "jsonrpc": "2.0",
                "method": "textDocument/didOpen",
                "params": {
                    "textDocument": {
                        "uri": uri,
                        "languageId": "python",
                        "version": 1,
                        "text": "def f():\n    pass\n" + "# é😀\n" * 400_000,
                    }
                },
            }
        ).encode()
    )
    client.write_raw(opened[:5])
    time.sleep(0.05)
    client.write_raw(opened[5:1000])
    client.write_raw(opened[1000:])
    body = json.dumps(
        {
            "jsonrpc": "2.0",
            "id": 900,
            "method": "textDocument/hover",
            "params": {"textDocument": {"uri": uri}, "position": {"line": 0, "character": 4}},
        }
    ).encode()
    typed = (
        b"Content-Length: %d\r\nContent-Type: application/vscode-jsonrpc; charset=utf-8"
        b"\r\n\r\n" % len(body)
    ) + body
    cancel = frame(b'{"jsonrpc":"2.0","method":"$/cancelRequest","params":{"id":900}}')
    client.write_raw(typed + cancel + typed.replace(b"900", b"901"))
    assert client.request("test/big", None) == "y" * (3 * 1024 * 1024)
    client.request("test/applyEdit", None)
    definition = client.request(
        "textDocument/definition",
        {"textDocument": {"uri": uri}, "position": {"line": 0, "character": 5}},
    )
    assert definition[0]["range"]["start"]["character"] == 4
    code = client.shutdown()

    assert code == 3  # the server's exit code
    assert stdin_log.read_bytes() == bytes(client.sent)
    assert stdout_log.read_bytes() == bytes(client.received)
    assert b"fake-server: hello on stderr" in client.stderr
    methods = {r["method"] for r in client.server_requests}
    assert {
        "workspace/configuration",
        "window/showMessageRequest",
        "workspace/applyEdit",
        "window/workDoneProgress/create",
    } <= methods

    # …and beside the path, the recorder saw the same conversation.
    events = spooled_events(tmp_path)
    assert [e["type"] for e in events] == ["file_opened", "go_to_definition"]
    assert events[0]["path"] == "big.py" and events[0]["size"] > 3_000_000
    assert events[1]["symbol"] == "f" and events[1]["targets"][0]["line"] == 1


def test_server_crash_exit_code_passes_through(tmp_path: Path) -> None:
    client, _, _ = _start(tmp_path, exit_code=7)
    client.initialize(tmp_path)
    client.notify("test/crash", None)
    assert client.proc.wait(30) == 7


def test_editor_closing_stdin_ends_the_proxy(tmp_path: Path) -> None:
    client, stdin_log, _ = _start(tmp_path)
    client.initialize(tmp_path)
    deadline = time.monotonic() + 30
    while len(client.server_requests) < 3 and time.monotonic() < deadline:
        time.sleep(0.01)  # let the client answer the server's requests first
    time.sleep(0.2)
    client.close_stdin()
    assert client.proc.wait(30) == 0
    assert stdin_log.read_bytes() == bytes(client.sent)
