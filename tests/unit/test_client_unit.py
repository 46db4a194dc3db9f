"""The client without the backend: request building, response parsing, transport errors.

Requests are checked by a client whose ``_call`` returns the built Call
instead of sending it (the same builder both real clients use). Transport
errors and streaming run against real sockets on loopback.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import msgspec
import pytest

from prtrace.api_types import CreateTraceRequest, EventBatch, FinalizeRequest, JobStatus, TraceList
from prtrace.client import (
    AsyncClient,
    Call,
    Client,
    LineSplitter,
    PrtraceError,
    _Endpoints,
    parse_response,
)
from prtrace.config import Settings
from prtrace.events import Thought
from prtrace.trace import Artifacts, Developer, Task


class Builder(_Endpoints):
    """Returns each request as built, so tests see exactly what would be sent."""

    def _call(self, call):
        return call

    def _paginate(self, page, split):
        return page

    def _stream_lines(self, call):
        return call


def thought(i: int) -> Thought:
    return Thought(
        id=f"ev{i}", t=datetime(2024, 5, 1, 12, 0, i, tzinfo=timezone.utc), session_id="s", raw="hm"
    )


# --- request building --------------------------------------------------------------


def test_create_trace_builds_a_valid_request_body():
    call = Builder().create_trace(Developer(id="alice"), Task(repository="r", commit="abcd123"))
    assert (call.method, call.path) == ("POST", "/traces")
    body = msgspec.json.decode(call.body, type=CreateTraceRequest)
    assert body.developer.id == "alice" and body.task.commit == "abcd123"
    assert call.headers("pta_x") == {
        "Accept": "application/json",
        "Authorization": "Bearer pta_x",
        "Content-Type": "application/json",
    }


def test_upload_events_uses_the_given_token_and_accepts_raw_events():
    raw = msgspec.Raw(msgspec.json.encode(thought(2)))
    call = Builder().upload_events("tr_1", 7, iter([thought(1), raw]), token="ptu_up")
    assert call.path == "/traces/tr_1/events"
    assert call.headers("pta_default")["Authorization"] == "Bearer ptu_up"
    batch = msgspec.json.decode(call.body, type=EventBatch)
    assert batch.seq == 7
    assert [event.id for event in batch.events] == ["ev1", "ev2"]


def test_finalize_sends_no_body_without_artifacts_and_the_patch_with_them():
    bare = Builder().finalize("tr_1")
    assert bare.body is None and "Content-Type" not in bare.headers(None)
    with_patch = Builder().finalize("tr_1", Artifacts(final_patch="diff"))
    decoded = msgspec.json.decode(with_patch.body, type=FinalizeRequest)
    assert decoded.artifacts.final_patch == "diff"


def test_no_token_means_no_authorization_header():
    assert "Authorization" not in Builder().health().headers(None)


def test_list_filters_are_encoded_and_none_dropped():
    since = datetime(2024, 5, 1, tzinfo=timezone.utc)
    call = Builder().list_traces(status="sealed", created_after=since, developer=None, limit=5)
    assert call.params == {
        "status": "sealed",
        "created_after": "2024-05-01T00:00:00+00:00",
        "limit": "5",
    }


def test_unknown_filter_is_a_type_error():
    with pytest.raises(TypeError):
        Builder().list_traces(colour="red")


def test_list_events_joins_types():
    call = Builder().list_events("tr_1", type=["edit", "thought"], after="ev3", limit=10)
    assert call.path == "/traces/tr_1/events"
    assert call.params == {"type": "edit,thought", "after": "ev3", "limit": "10"}


def test_iter_traces_pages_carry_the_cursor_and_keep_the_filters():
    page = Builder().iter_traces(status="open", cursor="ignored")
    assert page(None).params == {"status": "open"}
    assert page("c2").params == {"status": "open", "cursor": "c2"}


def test_export_and_jobs_paths():
    builder = Builder()
    assert builder.export(repository="r").params == {"repository": "r"}
    assert builder.export().path == "/export"
    assert (builder.request_qa("tr_1").method, builder.request_qa("tr_1").path) == (
        "POST",
        "/traces/tr_1/qa",
    )
    assert builder.get_job("j1").path == "/jobs/j1"
    assert builder.get_trace("tr_9").path == "/traces/tr_9"
    raw = builder.get_trace_raw("tr_9")
    assert (raw.path, raw.returns) == ("/traces/tr_9", msgspec.Raw)
    assert bytes(parse_response(raw, 200, b'{"version": "v"}')) == b'{"version": "v"}'


# --- response parsing --------------------------------------------------------------


def test_parse_success_decodes_into_the_call_type():
    call = Call("GET", "/jobs/j", JobStatus)
    body = b'{"job_id":"j","kind":"qa","status":"done","attempts":1}'
    assert parse_response(call, 200, body).status == "done"


def test_error_body_becomes_prtrace_error_with_field():
    body = json.dumps(
        {"status_code": 422, "detail": "Expected `int`, got `str`", "field": "events[3].t"}
    ).encode()
    with pytest.raises(PrtraceError) as info:
        parse_response(Call("POST", "/x", TraceList), 422, body)
    err = info.value
    assert (err.status_code, err.field) == (422, "events[3].t")
    assert err.detail == "Expected `int`, got `str`"
    assert str(err) == "events[3].t: Expected `int`, got `str` (HTTP 422)"
    assert not err.retryable


def test_non_json_error_keeps_the_text():
    with pytest.raises(PrtraceError) as info:
        parse_response(Call("GET", "/x", TraceList), 502, b"<html>Bad Gateway</html>")
    assert info.value.detail == "<html>Bad Gateway</html>"
    assert info.value.retryable


def test_malformed_success_body_is_a_prtrace_error():
    with pytest.raises(PrtraceError, match="unexpected answer"):
        parse_response(Call("GET", "/x", TraceList), 200, b'{"traces": 3}')


@pytest.mark.parametrize(
    "status, retryable",
    [(400, False), (401, False), (404, False), (409, False), (422, False), (500, False),
     (429, True), (502, True), (503, True), (504, True)],
)
def test_retryable_statuses(status, retryable):
    assert PrtraceError("x", status_code=status).retryable is retryable


# --- line splitting ------------------------------------------------------------------


def test_line_splitter_handles_lines_across_chunks():
    splitter = LineSplitter()
    chunks = [b'{"a"', b":1}\n{", b'"b":2}\r\n\n', b'{"c":3}']
    lines = [line for chunk in chunks for line in splitter.feed(chunk)] + splitter.finish()
    assert lines == [b'{"a":1}', b'{"b":2}', b'{"c":3}']


# --- settings ----------------------------------------------------------------------


def test_default_url_and_token_come_from_settings(tmp_path):
    (tmp_path / "api_token").write_text("pta_from_file\n")
    settings = Settings(url="http://127.0.0.1:1/", home=str(tmp_path))
    with Client(settings=settings) as api:
        assert (api.base_url, api.token) == ("http://127.0.0.1:1", "pta_from_file")
    with Client(token="pta_flag", settings=settings) as api:
        assert api.token == "pta_flag"


# --- real sockets --------------------------------------------------------------------


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_unreachable_backend_is_a_clear_retryable_error():
    url = f"http://127.0.0.1:{closed_port()}"
    with Client(url, "t") as api, pytest.raises(PrtraceError) as info:
        api.health()
    assert str(info.value).startswith(f"cannot reach the prtrace backend at {url}: ")
    assert info.value.retryable and info.value.status_code is None


async def test_unreachable_backend_async():
    url = f"http://127.0.0.1:{closed_port()}"
    async with AsyncClient(url, "t") as api:
        with pytest.raises(PrtraceError, match="cannot reach the prtrace backend"):
            await api.get_job("j")


def test_silent_backend_times_out_retryably():
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)  # accepts connections into the backlog, never answers
        url = f"http://127.0.0.1:{listener.getsockname()[1]}"
        with Client(url, "t", timeout=0.3) as api, pytest.raises(PrtraceError) as info:
            api.health()
    assert "did not answer in time" in str(info.value)
    assert info.value.retryable


class NdjsonHandler(BaseHTTPRequestHandler):
    """Streams ``lines`` JSON lines in small chunks, or a JSON error when unauthorised."""

    lines = 300
    big = "x" * 200_000

    def do_GET(self):  # noqa: N802 (http.server's naming)
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
    with Client(url_of(ndjson_server), "bad") as api, pytest.raises(PrtraceError) as info:
        list(api.export())
    assert info.value.status_code == 401
    assert info.value.detail == "missing or bad token"
