"""The client against real sockets on loopback: transport errors, streaming, and
mypy on plain callers of each client (tests/unit/test_client_unit.py has the rest)."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from prtrace.client import AsyncClient, Client
from prtrace.errors import AuthError, BackendUnreachable


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_unreachable_backend_is_a_clear_retryable_error():
    url = f"http://127.0.0.1:{closed_port()}"
    with Client(url, "t") as api, pytest.raises(BackendUnreachable) as info:
        api.health()
    assert str(info.value).startswith(f"cannot reach the prtrace backend at {url}: ")
    assert info.value.retryable and info.value.status_code is None


async def test_unreachable_backend_async():
    url = f"http://127.0.0.1:{closed_port()}"
    async with AsyncClient(url, "t") as api:
        with pytest.raises(BackendUnreachable, match="cannot reach the prtrace backend"):
            await api.get_job("j")


def test_silent_backend_times_out_retryably():
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)  # accepts connections into the backlog, never answers
        url = f"http://127.0.0.1:{listener.getsockname()[1]}"
        with Client(url, "t", timeout=0.3) as api, pytest.raises(BackendUnreachable) as info:
            api.health()
    assert "did not answer in time" in str(info.value)
    assert info.value.retryable


class NdjsonHandler(BaseHTTPRequestHandler):
    """Streams ``lines`` JSON lines in small chunks, or a JSON error when unauthorised."""

    lines = 300
    big = "x" * 200_000

    def do_GET(self):
        if self.headers.get("Authorization") != "Bearer good":
            body = b'{"status_code": 401, "detail": "missing or bad token"}'
            self.send_response(401)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/x-ndjson")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.server.seen_query = self.path
        for i in range(self.lines):
            payload = json.dumps({"i": i, "pad": self.big if i == 5 else ""}).encode() + b"\n"
            for start in range(0, len(payload), 4096):
                piece = payload[start : start + 4096]
                self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
        self.wfile.write(b"0\r\n\r\n")

    def log_message(self, *args):
        pass


@pytest.fixture
def ndjson_server() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), NdjsonHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def url_of(server: ThreadingHTTPServer) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}"


def test_export_streams_every_line(ndjson_server):
    with Client(url_of(ndjson_server), "good") as api:
        lines = list(api.export(status="sealed"))
    assert len(lines) == NdjsonHandler.lines
    assert [json.loads(line)["i"] for line in lines] == list(range(NdjsonHandler.lines))
    assert len(json.loads(lines[5])["pad"]) == len(NdjsonHandler.big)
    assert ndjson_server.seen_query == "/export?status=sealed"


async def test_async_export_streams_every_line(ndjson_server):
    async with AsyncClient(url_of(ndjson_server), "good") as api:
        lines = [line async for line in api.export()]
    assert [json.loads(line)["i"] for line in lines] == list(range(NdjsonHandler.lines))


def test_export_error_answer_raises_with_the_server_message(ndjson_server):
    with Client(url_of(ndjson_server), "bad") as api, pytest.raises(AuthError) as info:
        list(api.export())
    assert info.value.status_code == 401
    assert info.value.detail == "missing or bad token"


CALLERS = """
from prtrace.client import AsyncClient, Client
from prtrace.trace import Trace


def sync_caller(api: Client) -> str:
    trace: Trace = api.get_trace("t")
    return trace.trace_id + api.health().status + str(next(api.export()))


async def async_caller(api: AsyncClient) -> str:
    trace: Trace = await api.get_trace("t")
    ids = [s.trace_id async for s in api.iter_traces(status="sealed")]
    return trace.trace_id + ",".join(ids) + (await api.health()).status
"""


def test_callers_of_both_clients_type_check(tmp_path):
    """mypy accepts plain callers of each client (no Union[T, Awaitable[T]] to narrow)."""
    import subprocess
    import sys

    (tmp_path / "callers.py").write_text(CALLERS)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--ignore-missing-imports",
            "--follow-imports=silent",
            "--cache-dir",
            str(tmp_path / "cache"),
            str(tmp_path / "callers.py"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
