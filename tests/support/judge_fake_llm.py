"""A scripted OpenAI-compatible chat-completions server on loopback, for the judge's tests.

It speaks just enough of the API for the real ``openai`` client:
``POST /v1/chat/completions`` answers with a chat completion, or with an
error status and an OpenAI-style error body. Each request takes the next
scripted :class:`Reply` (then ``default``). A ``response_format`` type the
server does not ``support`` is refused with 400, like a server without
structured output. Every request body is kept in ``requests``.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

DIMENSIONS = (
    "problem_understanding",
    "investigation_strategy",
    "decision_rationale",
    "use_of_evidence",
    "reproducibility",
    "safety_privacy_awareness",
)
_ID = re.compile(r"^\[([^\]\s]+)\] \+", re.M)


@dataclass
class Reply:
    status: int = 200
    content: str | None = None
    """The message text; None with status 200 means "a good answer for this request"."""
    refusal: str | None = None
    finish_reason: str = "stop"
    headers: dict[str, str] = field(default_factory=dict)
    usage: tuple[int, int] = (1000, 200)


Script = Reply | Callable[[dict[str, Any]], Reply]


def cited_ids(request: dict[str, Any]) -> list[str]:
    """The event ids shown in the request's trace (the ``[id] +h:mm:ss`` lines)."""
    user = next(m["content"] for m in request["messages"] if m["role"] == "user")
    return _ID.findall(user)


def answer(
    ids: list[str], score: int | dict[str, Any] = 4, *, drop: tuple[str, ...] = (), cite: Any = None
) -> str:
    """A judge's answer in JSON: every dimension (but ``drop``) with ``score`` and citations."""
    scores = {}
    for i, name in enumerate(DIMENSIONS):
        if name in drop:
            continue
        value = score.get(name, 4) if isinstance(score, dict) else score
        evidence = (
            cite.get(name)
            if isinstance(cite, dict) and name in cite
            else ids[i % len(ids) : i % len(ids) + 1]
        )
        scores[name] = {"score": value, "evidence": evidence, "rationale": f"because of {evidence}"}
    return json.dumps({"scores": scores, "comments": "a careful fix"})


class FakeLLM:
    def __init__(self, supports: tuple[str, ...] = ("json_schema", "json_object")) -> None:
        self.supports = supports
        self.replies: list[Script] = []
        self.default: Script = Reply()
        self.requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def start(self) -> FakeLLM:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def formats(self) -> list[str | None]:
        """The ``response_format`` type of each request, in order (None: plain text)."""
        return [(r.get("response_format") or {}).get("type") for r in self.requests]

    def _next(self, request: dict[str, Any]) -> Reply:
        with self._lock:
            self.requests.append(request)
            fmt = (request.get("response_format") or {}).get("type")
            if fmt is not None and fmt not in self.supports:
                return Reply(status=400, content=f"response_format {fmt} is not supported")
            script = self.replies.pop(0) if self.replies else self.default
        return script(request) if callable(script) else script

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                request = json.loads(self.rfile.read(length))
                if not self.path.endswith("/chat/completions"):
                    return self._send(404, {"error": {"message": "not found"}}, {})
                reply = fake._next(request)
                if reply.status != 200:
                    body = {
                        "error": {
                            "message": reply.content or "error",
                            "type": "fake",
                            "code": reply.status,
                        }
                    }
                    return self._send(reply.status, body, reply.headers)
                content = reply.content
                if content is None and reply.refusal is None:
                    content = answer(cited_ids(request))
                body = {
                    "id": f"chatcmpl-{len(fake.requests)}",
                    "object": "chat.completion",
                    "created": 0,
                    "model": request.get("model"),
                    "choices": [
                        {
                            "index": 0,
                            "message": {
                                "role": "assistant",
                                "content": content,
                                "refusal": reply.refusal,
                            },
                            "finish_reason": reply.finish_reason,
                        }
                    ],
                    "usage": {
                        "prompt_tokens": reply.usage[0],
                        "completion_tokens": reply.usage[1],
                        "total_tokens": sum(reply.usage),
                    },
                }
                self._send(200, body, reply.headers)

            def _send(self, status: int, body: Any, headers: dict[str, str]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in headers.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

        return Handler
