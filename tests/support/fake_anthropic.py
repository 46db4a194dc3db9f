"""A scripted Anthropic Messages API on loopback, for driving the real Claude Code CLI.

The CLI streams ``POST /v1/messages`` (Server-Sent Events). The answer to a
main-loop request (one with ``tools``) is chosen from the number of assistant
messages already in it, so the script is a list of turns, each a list of
content blocks (``text`` or ``tool_use`` with ``name`` and ``input``), and
retries get the same answer. ``{cwd}`` in a script is the working directory
the CLI names in its system prompt. Side queries (no ``tools``: titles, quota)
get a short text. Every request body is kept in :attr:`FakeAnthropic.requests`.
"""

from __future__ import annotations

import json
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Turn = list[dict[str, Any]]


def _cwd(body: dict[str, Any]) -> str:
    system = body.get("system")
    texts = [system] if isinstance(system, str) else []
    if isinstance(system, list):
        texts += [b.get("text", "") for b in system if isinstance(b, dict)]
    for text in texts:
        for line in text.splitlines():
            for key in ("Primary working directory:", "Working directory:"):
                if line.strip().startswith(key):
                    return line.strip()[len(key) :].strip()
    return "."


def _fill(obj: Any, cwd: str) -> Any:
    if isinstance(obj, str):
        return obj.replace("{cwd}", cwd)
    if isinstance(obj, list):
        return [_fill(x, cwd) for x in obj]
    if isinstance(obj, dict):
        return {k: _fill(v, cwd) for k, v in obj.items()}
    return obj


class FakeAnthropic:
    def __init__(self, script: list[Turn], model: str = "claude-fake-1") -> None:
        self.script = script
        self.model = model
        self.requests: list[dict[str, Any]] = []
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> FakeAnthropic:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _send_json(self, code: int, obj: object) -> None:
                data = json.dumps(obj).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_HEAD(self) -> None:
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def do_GET(self) -> None:
                if self.path.startswith("/v1/models"):
                    self._send_json(200, {"data": [], "has_more": False})
                else:
                    self._send_json(404, {"type": "error", "error": {"type": "not_found_error"}})

            def do_POST(self) -> None:
                size = int(self.headers.get("Content-Length") or 0)
                try:
                    body = json.loads(self.rfile.read(size) or b"{}")
                except ValueError:
                    body = {}
                path = self.path.split("?")[0]
                if path == "/v1/messages/count_tokens":
                    return self._send_json(200, {"input_tokens": 10})
                if path != "/v1/messages":
                    return self._send_json(404, {"type": "error", "error": {"type": "x"}})
                fake.requests.append(body)
                self._stream(fake._blocks(body), body.get("stream", False))

            def _stream(self, blocks: Turn, stream: bool) -> None:
                stop = "tool_use" if any(b["type"] == "tool_use" for b in blocks) else "end_turn"
                usage = {"input_tokens": 10, "output_tokens": 5}
                msg = {
                    "id": "msg_" + uuid.uuid4().hex[:12],
                    "type": "message",
                    "role": "assistant",
                    "model": fake.model,
                    "content": [],
                    "stop_reason": None,
                    "stop_sequence": None,
                    "usage": usage,
                }
                if not stream:
                    return self._send_json(200, {**msg, "content": blocks, "stop_reason": stop})
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()

                def event(name: str, data: dict[str, Any]) -> None:
                    chunk = f"event: {name}\ndata: {json.dumps(data)}\n\n".encode()
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                    self.wfile.flush()

                event("message_start", {"type": "message_start", "message": msg})
                for i, block in enumerate(blocks):
                    if block["type"] == "text":
                        start = {"type": "text", "text": ""}
                        delta = {"type": "text_delta", "text": block["text"]}
                    else:
                        start = {"type": "tool_use", "id": block["id"], "name": block["name"]}
                        start["input"] = {}
                        delta = {"type": "input_json_delta", "partial_json": ""}
                        delta["partial_json"] = json.dumps(block["input"])
                    event(
                        "content_block_start",
                        {"type": "content_block_start", "index": i, "content_block": start},
                    )
                    event(
                        "content_block_delta",
                        {"type": "content_block_delta", "index": i, "delta": delta},
                    )
                    event("content_block_stop", {"type": "content_block_stop", "index": i})
                event(
                    "message_delta",
                    {
                        "type": "message_delta",
                        "delta": {"stop_reason": stop, "stop_sequence": None},
                        "usage": {"output_tokens": 5},
                    },
                )
                event("message_stop", {"type": "message_stop"})
                self.wfile.write(b"0\r\n\r\n")
                self.wfile.flush()

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def _blocks(self, body: dict[str, Any]) -> Turn:
        if not body.get("tools"):
            return [{"type": "text", "text": "ok"}]
        turn = sum(1 for m in body.get("messages", []) if m.get("role") == "assistant")
        blocks = (
            self.script[turn] if turn < len(self.script) else [{"type": "text", "text": "Done."}]
        )
        out = []
        for i, block in enumerate(_fill(blocks, _cwd(body))):
            if block["type"] == "tool_use":
                block = {"id": f"toolu_{turn:02d}_{i:02d}", **block}
            out.append(block)
        return out


def claude_env(home: str, base_url: str, path: str) -> dict[str, str]:
    """The environment the CLI runs offline with (no telemetry, no updates, no retries)."""
    return {
        "PATH": path,
        "HOME": home,
        "IS_SANDBOX": "1",
        "ANTHROPIC_BASE_URL": base_url,
        "ANTHROPIC_API_KEY": "sk-fake",
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        "DISABLE_TELEMETRY": "1",
        "DISABLE_AUTOUPDATER": "1",
        "CLAUDE_CODE_MAX_RETRIES": "0",
    }
