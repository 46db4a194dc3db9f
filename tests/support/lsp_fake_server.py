#!/usr/bin/env python3
"""A scripted LSP server that logs every byte it reads and writes.

Used to check that the proxy is transparent: the bytes the server receives
must be exactly the bytes the editor sent, and the other way round. It also
exercises what a real server does besides answering: server-to-client
requests, progress notifications, stderr output, a multi-megabyte answer,
``Content-Type`` headers, and a chosen exit code.

Usage: lsp_fake_server.py STDIN_LOG STDOUT_LOG [EXIT_CODE]
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from prtrace.recorder.lsp.framing import MessageFramer


def main() -> int:
    stdin_log = open(sys.argv[1], "wb")
    stdout_log = open(sys.argv[2], "wb")
    exit_code = int(sys.argv[3]) if len(sys.argv) > 3 else 0
    framer = MessageFramer()
    counter = [0]

    def write(obj: dict, content_type: bool = False) -> None:
        body = json.dumps({"jsonrpc": "2.0", **obj}).encode()
        header = b"Content-Length: %d\r\n" % len(body)
        if content_type:
            header += b"Content-Type: application/vscode-jsonrpc; charset=utf-8\r\n"
        data = header + b"\r\n" + body
        stdout_log.write(data)
        stdout_log.flush()
        # Write in two pieces, so the proxy sees a message split across reads.
        os.write(1, data[:7])
        os.write(1, data[7:])

    def server_request(method: str, params: object) -> None:
        counter[0] += 1
        write({"id": f"s{counter[0]}", "method": method, "params": params})

    while True:
        data = os.read(0, 65536)
        if not data:
            return 0  # the editor closed our stdin
        stdin_log.write(data)
        stdin_log.flush()
        for body in framer.feed(data):
            msg = json.loads(body)
            method, rid = msg.get("method"), msg.get("id")
            if method == "initialize":
                sys.stderr.write("fake-server: hello on stderr\n")
                sys.stderr.flush()
                write(
                    {
                        "id": rid,
                        "result": {
                            "capabilities": {"textDocumentSync": 2, "definitionProvider": True}
                        },
                    },
                    content_type=True,
                )
                server_request("workspace/configuration", {"items": [{"section": "x"}]})
                server_request(
                    "window/showMessageRequest",
                    {"type": 3, "message": "pick", "actions": [{"title": "ok"}]},
                )
                server_request("window/workDoneProgress/create", {"token": "p1"})
                write(
                    {
                        "method": "$/progress",
                        "params": {"token": "p1", "value": {"kind": "begin", "title": "x"}},
                    }
                )
                write({"method": "$/progress", "params": {"token": "p1", "value": {"kind": "end"}}})
            elif method == "test/big":
                write({"id": rid, "result": "y" * (3 * 1024 * 1024)})
            elif method == "test/applyEdit":
                server_request("workspace/applyEdit", {"label": "fix", "edit": {"changes": {}}})
                write({"id": rid, "result": None})
            elif method == "textDocument/definition":
                uri = msg["params"]["textDocument"]["uri"]
                write(
                    {
                        "id": rid,
                        "result": [
                            {
                                "uri": uri,
                                "range": {
                                    "start": {"line": 0, "character": 4},
                                    "end": {"line": 0, "character": 7},
                                },
                            }
                        ],
                    }
                )
            elif method == "test/crash":
                os._exit(exit_code)
            elif method == "shutdown":
                write({"id": rid, "result": None})
            elif method == "exit":
                return exit_code
            elif rid is not None and method is not None:
                write({"id": rid, "result": None})


if __name__ == "__main__":
    sys.exit(main())
