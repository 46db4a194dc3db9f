"""The client without the backend: request building, response parsing, transport errors.

Requests are checked as :class:`prtrace.client.Requests` builds them, unsent (the
builder both real clients send from). Transport errors, streaming and mypy on the
clients' callers run against real sockets and processes, in
tests/integration/test_client_sockets.py.
"""

from __future__ import annotations

import inspect
import json
import typing
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime

import msgspec
import pytest

from prtrace.api_types import (
    CreateTraceRequest,
    EventBatch,
    FinalizeRequest,
    JobStatus,
    TraceList,
    TraceSummary,
)
from prtrace.client import (
    ENDPOINTS,
    AsyncClient,
    Call,
    Client,
    LineSplitter,
    Requests,
    parse_response,
)
from prtrace.config import Settings
from prtrace.errors import (
    APIError,
    AuthError,
    ConflictError,
    InvalidRequest,
    NotFoundError,
    PrtraceError,
    ServerError,
)
from prtrace.events import Thought
from prtrace.trace import Artifacts, Developer, Task, Trace

Builder = Requests
"""Each request as built, so tests see exactly what would be sent."""


def thought(i: int) -> Thought:
    return Thought(
        id=f"ev{i}", t=datetime(2024, 5, 1, 12, 0, i, tzinfo=UTC), session_id="s", raw="hm"
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
    since = datetime(2024, 5, 1, tzinfo=UTC)
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
    page = Builder().iter_traces(status="open", cursor="ignored").page
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
    with pytest.raises(InvalidRequest) as info:
        parse_response(Call("POST", "/x", TraceList), 422, body)
    err = info.value
    assert (err.status_code, err.field) == (422, "events[3].t")
    assert err.detail == "Expected `int`, got `str`"
    assert str(err) == "events[3].t: Expected `int`, got `str` (HTTP 422)"
    assert not err.retryable


def test_non_json_error_keeps_the_text():
    with pytest.raises(ServerError) as info:
        parse_response(Call("GET", "/x", TraceList), 502, b"<html>Bad Gateway</html>")
    assert info.value.detail == "<html>Bad Gateway</html>"
    assert info.value.retryable


def test_malformed_success_body_is_a_prtrace_error():
    with pytest.raises(ServerError, match="unexpected answer"):
        parse_response(Call("GET", "/x", TraceList), 200, b'{"traces": 3}')


@pytest.mark.parametrize(
    "status, retryable",
    [
        (400, False),
        (401, False),
        (404, False),
        (409, False),
        (422, False),
        (500, False),
        (429, True),
        (502, True),
        (503, True),
        (504, True),
    ],
)
def test_retryable_statuses(status, retryable):
    assert APIError("x", status_code=status).retryable is retryable


@pytest.mark.parametrize(
    "status, cls",
    [
        (400, InvalidRequest),
        (401, AuthError),
        (403, AuthError),
        (404, NotFoundError),
        (409, ConflictError),
        (413, InvalidRequest),
        (422, InvalidRequest),
        (500, ServerError),
        (503, ServerError),
        (418, APIError),
    ],
)
def test_each_status_has_its_error_class(status, cls):
    with pytest.raises(cls) as info:
        parse_response(Call("GET", "/x", TraceList), status, b'{"status_code": 1, "detail": "d"}')
    assert type(info.value) is cls and isinstance(info.value, PrtraceError)
    assert info.value.status_code == status and info.value.exit_code == 1


# --- the two clients ---------------------------------------------------------------


def _signature(function) -> list[tuple]:
    params = inspect.signature(function).parameters.values()
    return [(p.name, p.kind, p.default, p.annotation) for p in params if p.name != "self"]


@pytest.mark.parametrize("name", ENDPOINTS)
def test_both_clients_have_every_endpoint_with_the_builders_parameters(name):
    built = getattr(Requests, name)
    for client in (Client, AsyncClient):
        method = getattr(client, name)
        assert _signature(method) == _signature(built), (client.__name__, name)
        assert method.__doc__ == built.__doc__
    streamed = name.startswith("iter_") or name == "export"
    assert inspect.iscoroutinefunction(getattr(AsyncClient, name)) is not streamed
    assert not inspect.iscoroutinefunction(getattr(Client, name))


def test_each_client_method_is_typed_with_its_own_answer():
    """Not a union of the value and an awaitable: what the type checker sees."""
    sync = [typing.get_type_hints(f)["return"] for f in typing.get_overloads(Client.get_trace)]
    asynchronous = [
        typing.get_type_hints(f)["return"] for f in typing.get_overloads(AsyncClient.get_trace)
    ]
    assert sync == asynchronous == [Trace, Trace, dict[str, typing.Any]]
    assert typing.get_type_hints(Client.iter_traces)["return"] == Iterator[TraceSummary]
    assert typing.get_type_hints(AsyncClient.iter_traces)["return"] == AsyncIterator[TraceSummary]


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
