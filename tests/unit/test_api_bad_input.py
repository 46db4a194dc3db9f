"""Bad input against the backend's app, in process: every kind gets the right
4xx, a JSON error whose ``detail`` names the problem and whose ``field`` is the
exact JSON path when there is one, and stores NOTHING.

Each case runs against a fresh trace that already holds a good batch (seq 0).
After the bad request the trace must hold exactly that batch, still be open,
and take a good batch with seq 1 made of new ids (so the rejected request
consumed neither its seq nor its event ids). Never a 5xx.

One app serves the module (``AppServer``: ``create_app`` behind litestar's
TestClient, SQLite and the blob folder in a tmp home, as ``prtrace serve`` has
them; module-scoped so that ~80 cases stay fast). NUL in text on PostgreSQL, which
refuses it: tests/integration/test_api_bad_input_postgres.py.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import Any

import httpx
import pytest

from prtrace.api_types import MAX_BATCH_EVENTS, MAX_BODY_BYTES
from tests.support.app_server import AppServer
from tests.support.bad_input import GOOD, create_trace, j, send_good, thought

HASH_A = "a" * 64
HASH_B = "b" * 64


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppServer]:
    with AppServer(tmp_path_factory.mktemp("bad-input") / "prtrace-home") as app:
        yield app


@pytest.fixture(scope="module")
def api(server: AppServer) -> Iterator[httpx.Client]:
    with server.http(headers={"Authorization": f"Bearer {server.api_token}"}, timeout=60) as client:
        yield client


# --- events ---------------------------------------------------------------------------


def batch_events(prefix: str) -> list[dict[str, Any]]:
    """Five valid events of different types; events[3] has a range and a target."""

    def rng() -> dict[str, Any]:
        return {"start": {"line": 4, "character": 2}, "end": {"line": 4, "character": 9}}

    return [
        {
            "type": "file_opened",
            "id": f"{prefix}-0",
            "t": "2024-05-01T10:00:01Z",
            "session_id": "ses_bad",
            "source": "lsp",
            "path": "pkg/mod.py",
            "language": "python",
            "version": 1,
            "hash": HASH_A,
            "size": 120,
        },
        {
            "type": "edit",
            "id": f"{prefix}-1",
            "t": "2024-05-01T10:00:02+02:00",
            "session_id": "ses_bad",
            "path": "pkg/mod.py",
            "op": "replace",
            "patch_unified": "--- a/pkg/mod.py\n+++ b/pkg/mod.py\n@@ -1 +1 @@\n-a\n+b\n",
            "before_hash": HASH_A,
            "after_hash": HASH_B,
            "range": rng(),
            "changes": 2,
        },
        thought(f"{prefix}-2", "hmm"),
        {
            "type": "go_to_definition",
            "id": f"{prefix}-3",
            "t": "2024-05-01T10:00:04Z",
            "session_id": "ses_bad",
            "path": "pkg/mod.py",
            "symbol": "parse",
            "range": rng(),
            "targets": [{"path": "pkg/parse.py", "line": 3, "range": rng()}],
            "latency_ms": 12.5,
        },
        {
            "type": "terminal_command",
            "id": f"{prefix}-4",
            "t": "2024-05-01T10:00:05Z",
            "session_id": "ses_bad",
            "cmd": "pytest -q",
            "args": ["pytest", "-q"],
            "exit_code": 1,
            "duration_ms": 1.5,
            "stdout": "1 failed\n",
        },
    ]


def batch(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"seq": 1, "events": batch_events("bad")}
    body.update(changes)
    return body


def with_event(i: int, change: Callable[[dict[str, Any]], Any]) -> dict[str, Any]:
    body = batch()
    change(body["events"][i])
    return body


def setting(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    """Set a dotted path (``range.start.line``, ``targets.0.line``) in an event."""

    def change(event: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = event
        for part in parents:
            node = node[int(part)] if part.isdigit() else node[part]
        node[int(last) if last.isdigit() else last] = value

    return change


def dropping(name: str) -> Callable[[dict[str, Any]], None]:
    return lambda event: event.pop(name)


def replaced_by(event: dict[str, Any]) -> Callable[[dict[str, Any]], None]:
    def change(old: dict[str, Any]) -> None:
        old.clear()
        old.update(event)

    return change


# --- cases ------------------------------------------------------------------------------


@dataclass
class Ctx:
    server: AppServer
    http: httpx.Client
    """No default token: each request says its own."""
    trace_id: str
    token: str
    developer: str

    @property
    def other_token(self) -> str:
        """The upload token of another trace (made on first use)."""
        if not hasattr(self, "_other"):
            self._other = create_trace(self.http, self.developer + "-other", self.server.api_token)[
                1
            ]
        return self._other


@dataclass
class Case:
    id: str
    status: int
    detail: str | tuple[str, ...]
    """Substring(s) the error's detail must contain (naming the problem)."""
    field: str | None = None
    body: bytes | Callable[[Ctx], bytes] | None = None
    method: str = "POST"
    path: str = "/traces/{trace}/events"
    auth: str = "upload"
    """upload | api | other-upload | none | raw:<header value>"""
    params: dict[str, Any] = dataclass_field(default_factory=dict)


def valid_batch_body() -> bytes:
    return j(batch())


CASES = [
    # --- 400: not JSON, not UTF-8 ------------------------------------------------------
    Case("broken-json", 400, "not valid JSON", body=b'{"seq": 1, "events": ['),
    Case("trailing-garbage", 400, "not valid JSON", body=j(batch()) + b" ok"),
    Case(
        "nan-literal",
        400,
        "not valid JSON",
        body=j(batch()).replace(b'"duration_ms": 1.5', b'"duration_ms": NaN'),
    ),
    Case("single-quotes", 400, "not valid JSON", body=b"{'seq': 1, 'events': []}"),
    Case("empty-body", 400, "not valid JSON", body=b""),
    Case(
        "non-utf8-in-event",
        400,
        "UTF-8",
        "events[2]",
        body=j(batch()).replace(b'"hmm"', b'"h\xffm"'),
    ),
    Case("utf16-body", 400, "not valid JSON", body=json.dumps(batch()).encode("utf-16")),
    # --- 422: JSON, but not an EventBatch ------------------------------------------------
    Case("body-is-array", 422, "Expected `object`, got `array`", body=j([batch()])),
    Case("body-is-string", 422, "Expected `object`, got `str`", body=j("seq 1")),
    Case("body-is-null", 422, "Expected `object`, got `null`", body=b"null"),
    Case("seq-wrong-type", 422, "Expected `int`, got `str`", "seq", body=j(batch(seq="1"))),
    Case("seq-float", 422, "Expected `int`, got `float`", "seq", body=j(batch(seq=1.5))),
    Case("seq-bool", 422, "Expected `int`, got `bool`", "seq", body=j(batch(seq=True))),
    Case("seq-negative", 422, ">= 0", "seq", body=j(batch(seq=-1))),
    Case("seq-too-large", 422, "<= 9007199254740992", "seq", body=j(batch(seq=2**53 + 1))),
    Case(
        "seq-missing",
        422,
        "missing required field `seq`",
        "seq",
        body=j({"events": batch_events("bad")}),
    ),
    Case("events-missing", 422, "missing required field `events`", "events", body=j({"seq": 1})),
    Case("unknown-batch-field", 422, "unknown field `note`", "note", body=j(batch(note="hi"))),
    Case(
        "events-not-a-list",
        422,
        "Expected `array`, got `object`",
        "events",
        body=j(batch(events={"0": thought("x")})),
    ),
    Case("events-null", 422, "Expected `array`, got `null`", "events", body=j(batch(events=None))),
    Case(
        "event-not-an-object",
        422,
        "Expected `object`, got `int`",
        "events[2]",
        body=j(batch(events=[*batch_events("bad")[:2], 7])),
    ),
    Case(
        "unknown-event-type",
        422,
        "unknown event type",
        "events[3].type",
        body=j(with_event(3, setting("type", "teleported"))),
    ),
    Case(
        "missing-event-type",
        422,
        "missing required field `type`",
        "events[3].type",
        body=j(with_event(3, dropping("type"))),
    ),
    Case(
        "missing-required-field",
        422,
        "missing required field `raw`",
        "events[2].raw",
        body=j(with_event(2, dropping("raw"))),
    ),
    Case(
        "missing-id",
        422,
        "missing required field `id`",
        "events[0].id",
        body=j(with_event(0, dropping("id"))),
    ),
    Case(
        "range-line-wrong-type",
        422,
        "Expected `int`, got `str`",
        "events[3].range.start.line",
        body=j(with_event(3, setting("range.start.line", "4"))),
    ),
    Case(
        "range-line-negative",
        422,
        ">= 0",
        "events[3].range.start.line",
        body=j(with_event(3, setting("range.start.line", -1))),
    ),
    Case(
        "range-not-object",
        422,
        "got `array`",
        "events[1].range",
        body=j(with_event(1, setting("range", [0, 1]))),
    ),
    Case(
        "target-line-zero",
        422,
        ">= 1",
        "events[3].targets[0].line",
        body=j(with_event(3, setting("targets.0.line", 0))),
    ),
    Case(
        "naive-timestamp",
        422,
        "timezone",
        "events[1].t",
        body=j(with_event(1, setting("t", "2024-05-01T10:00:02"))),
    ),
    Case(
        "bad-timestamp",
        422,
        "RFC3339",
        "events[1].t",
        body=j(with_event(1, setting("t", "yesterday at noon"))),
    ),
    Case(
        "timestamp-as-number",
        422,
        "Expected `datetime`, got `int`",
        "events[1].t",
        body=j(with_event(1, setting("t", 1714557602))),
    ),
    Case(
        "unknown-event-field",
        422,
        "unknown field `colour`",
        "events[4].colour",
        body=j(with_event(4, setting("colour", "red"))),
    ),
    Case("empty-id", 422, "length >= 1", "events[0].id", body=j(with_event(0, setting("id", "")))),
    Case(
        "id-too-long",
        422,
        "length <= 128",
        "events[0].id",
        body=j(with_event(0, setting("id", "x" * 129))),
    ),
    Case(
        "id-not-a-string",
        422,
        "Expected `str`, got `int`",
        "events[0].id",
        body=j(with_event(0, setting("id", 17))),
    ),
    Case(
        "empty-session-id",
        422,
        "length >= 1",
        "events[2].session_id",
        body=j(with_event(2, setting("session_id", ""))),
    ),
    Case(
        "bad-hash-pattern",
        422,
        "regex",
        "events[1].before_hash",
        body=j(with_event(1, setting("before_hash", "ABC123"))),
    ),
    Case(
        "edit-hash-of-64-uppercase",
        422,
        "regex",
        "events[1].after_hash",
        body=j(with_event(1, setting("after_hash", "A" * 64))),
    ),
    Case(
        "edit-hash-of-64-non-hex",
        422,
        "regex",
        "events[1].before_hash",
        body=j(with_event(1, setting("before_hash", "g" * 64))),
    ),
    Case(
        "edit-hash-of-64-with-a-non-ascii-letter",
        422,
        "regex",
        "events[1].before_hash",
        body=j(with_event(1, setting("before_hash", "a" * 63 + "\u00e9"))),
    ),
    Case(
        "uppercase-hash",
        422,
        "regex",
        "events[0].hash",
        body=j(with_event(0, setting("hash", "A" * 64))),
    ),
    Case(
        "bad-enum-value",
        422,
        "'move'",
        "events[1].op",
        body=j(with_event(1, setting("op", "move"))),
    ),
    Case(
        "edit-changes-zero",
        422,
        ">= 1",
        "events[1].changes",
        body=j(with_event(1, setting("changes", 0))),
    ),
    Case(
        "negative-size", 422, ">= 0", "events[0].size", body=j(with_event(0, setting("size", -5)))
    ),
    Case(
        "number-out-of-range",
        422,
        "out of range",
        "events[4].duration_ms",
        body=j(batch()).replace(b'"duration_ms": 1.5', b'"duration_ms": 1e400'),
    ),
    Case(
        "negative-duration",
        422,
        ">= 0",
        "events[4].duration_ms",
        body=j(with_event(4, setting("duration_ms", -1.0))),
    ),
    Case(
        "args-not-a-list",
        422,
        "Expected `array`, got `str`",
        "events[4].args",
        body=j(with_event(4, setting("args", "pytest -q"))),
    ),
    Case(
        "args-item-not-str",
        422,
        "Expected `str`, got `int`",
        "events[4].args[1]",
        body=j(with_event(4, setting("args", ["pytest", 3]))),
    ),
    Case(
        "diagnostic-bad-severity",
        422,
        "'fatal'",
        "events[2].items[0].severity",
        body=j(
            with_event(
                2,
                replaced_by(
                    {
                        "type": "diagnostics",
                        "id": "bad-2",
                        "t": "2024-05-01T10:00:03Z",
                        "session_id": "ses_bad",
                        "path": "pkg/mod.py",
                        "errors": 1,
                        "items": [
                            {
                                "range": {
                                    "start": {"line": 0, "character": 0},
                                    "end": {"line": 0, "character": 1},
                                },
                                "severity": "fatal",
                                "message": "boom",
                            }
                        ],
                    }
                ),
            )
        ),
    ),
    Case(
        "commit-hash-not-hex",
        422,
        "regex",
        "events[2].hash",
        body=j(
            with_event(
                2,
                replaced_by(
                    {
                        "type": "commit_made",
                        "id": "bad-2",
                        "t": "2024-05-01T10:00:03Z",
                        "session_id": "ses_bad",
                        "hash": "not-a-sha",
                        "message": "fix",
                    }
                ),
            )
        ),
    ),
    Case(
        "duplicate-id-in-batch",
        422,
        ("duplicate event id 'bad-1'", "events[1]"),
        "events[4].id",
        body=j(with_event(4, setting("id", "bad-1"))),
    ),
    Case(
        "duplicate-id-with-stored",
        422,
        ("'good-1'", "already used"),
        "events[2].id",
        body=j(with_event(2, setting("id", "good-1"))),
    ),
    # --- 413: too large --------------------------------------------------------------------
    Case(
        "too-many-events",
        413,
        str(MAX_BATCH_EVENTS),
        "events",
        body=j(batch(events=[thought(f"many-{i}") for i in range(MAX_BATCH_EVENTS + 1)])),
    ),
    # --- 401 / 403 / 404 -------------------------------------------------------------------
    Case("no-authorization", 401, "Authorization", body=valid_batch_body(), auth="none"),
    Case("basic-scheme", 401, "Bearer", body=valid_batch_body(), auth="raw:Basic dXNlcjpwYXNz"),
    Case("empty-bearer", 401, "Bearer", body=valid_batch_body(), auth="raw:Bearer"),
    Case(
        "other-traces-upload-token",
        403,
        "does not belong",
        body=valid_batch_body(),
        auth="other-upload",
    ),
    Case(
        "unknown-upload-token",
        403,
        "does not belong",
        body=valid_batch_body(),
        auth="raw:Bearer ptu_" + "A" * 43,
    ),
    Case(
        "unknown-api-token",
        403,
        "invalid",
        body=valid_batch_body(),
        auth="raw:Bearer pta_" + "A" * 43,
    ),
    Case("garbage-token", 403, "invalid", body=valid_batch_body(), auth="raw:Bearer hunter2"),
    Case(
        "missing-trace-upload-token",
        404,
        "not found",
        body=valid_batch_body(),
        path="/traces/tr_missing/events",
    ),
    Case(
        "missing-trace-api-token",
        404,
        "not found",
        body=valid_batch_body(),
        path="/traces/tr_missing/events",
        auth="api",
    ),
    # --- finalize (the trace must stay open) ------------------------------------------------
    Case(
        "finalize-broken-json",
        400,
        "not valid JSON",
        path="/traces/{trace}/finalize",
        body=b'{"artifacts": ',
    ),
    Case(
        "finalize-non-utf8",
        400,
        "UTF-8",
        path="/traces/{trace}/finalize",
        body=b'{"artifacts": {"final_patch": "\xff"}}',
    ),
    Case(
        "finalize-wrong-type",
        422,
        "Expected `str | null`, got `int`",
        "artifacts.final_patch",
        path="/traces/{trace}/finalize",
        body=j({"artifacts": {"final_patch": 5}}),
    ),
    Case(
        "finalize-unknown-field",
        422,
        "unknown field `summary`",
        "artifacts.summary",
        path="/traces/{trace}/finalize",
        body=j({"artifacts": {"summary": "x"}}),
    ),
    Case(
        "finalize-not-an-object",
        422,
        "Expected `object`, got `array`",
        path="/traces/{trace}/finalize",
        body=j([]),
    ),
    Case(
        "finalize-other-token",
        403,
        "does not belong",
        path="/traces/{trace}/finalize",
        auth="other-upload",
    ),
    Case("finalize-no-token", 401, "Authorization", path="/traces/{trace}/finalize", auth="none"),
    Case(
        "finalize-missing-trace", 404, "not found", path="/traces/tr_missing/finalize", auth="api"
    ),
    # --- create ---------------------------------------------------------------------------
    Case(
        "create-broken-json",
        400,
        "not valid JSON",
        path="/traces",
        auth="api",
        body=b'{"developer": {',
    ),
    Case(
        "create-missing-commit",
        422,
        "missing required field `commit`",
        "task.commit",
        path="/traces",
        auth="api",
        body=j({"developer": {"id": "bad-create"}, "task": {"repository": "r"}}),
    ),
    Case(
        "create-empty-developer",
        422,
        "length >= 1",
        "developer.id",
        path="/traces",
        auth="api",
        body=j({"developer": {"id": ""}, "task": {"repository": "r", "commit": "abcd123"}}),
    ),
    Case(
        "create-short-commit",
        422,
        "length >= 4",
        "task.commit",
        path="/traces",
        auth="api",
        body=j({"developer": {"id": "bad-create"}, "task": {"repository": "r", "commit": "abc"}}),
    ),
    Case(
        "create-unknown-field",
        422,
        "unknown field `priority`",
        "task.priority",
        path="/traces",
        auth="api",
        body=j(
            {
                "developer": {"id": "bad-create"},
                "task": {"repository": "r", "commit": "abcd123", "priority": 1},
            }
        ),
    ),
    Case(
        "create-bad-encoding",
        422,
        "Invalid enum value 'latin-1'",
        "environment.position_encoding",
        path="/traces",
        auth="api",
        body=j(
            {
                "developer": {"id": "bad-create"},
                "task": {"repository": "r", "commit": "abcd123"},
                "environment": {"position_encoding": "latin-1"},
            }
        ),
    ),
    Case(
        "create-with-upload-token",
        403,
        "upload token",
        path="/traces",
        body=j(
            {"developer": {"id": "bad-create"}, "task": {"repository": "r", "commit": "abcd123"}}
        ),
    ),
    Case(
        "create-no-token",
        401,
        "Authorization",
        path="/traces",
        auth="none",
        body=j(
            {"developer": {"id": "bad-create"}, "task": {"repository": "r", "commit": "abcd123"}}
        ),
    ),
    # --- reads --------------------------------------------------------------------------
    Case(
        "list-limit-zero",
        400,
        "limit",
        "limit",
        method="GET",
        path="/traces",
        auth="api",
        params={"limit": 0},
    ),
    Case(
        "list-limit-too-big",
        400,
        "limit",
        "limit",
        method="GET",
        path="/traces",
        auth="api",
        params={"limit": 501},
    ),
    Case(
        "list-bad-status",
        400,
        "'bogus'",
        "status",
        method="GET",
        path="/traces",
        auth="api",
        params={"status": "bogus"},
    ),
    Case(
        "list-bad-date",
        400,
        "created_after",
        "created_after",
        method="GET",
        path="/traces",
        auth="api",
        params={"created_after": "last tuesday"},
    ),
    Case(
        "events-limit-too-big",
        400,
        "limit",
        "limit",
        method="GET",
        path="/traces/{trace}/events",
        auth="api",
        params={"limit": 10_001},
    ),
    Case(
        "events-after-unknown",
        422,
        "'nope'",
        "after",
        method="GET",
        path="/traces/{trace}/events",
        auth="api",
        params={"after": "nope"},
    ),
    Case("read-with-upload-token", 403, "upload token", method="GET", path="/traces/{trace}"),
    Case(
        "get-missing-trace", 404, "not found", method="GET", path="/traces/tr_missing", auth="api"
    ),
    Case("job-missing", 404, "not found", method="GET", path="/jobs/job_missing", auth="api"),
    Case("unknown-route", 404, "", method="GET", path="/tracez", auth="api"),
    Case("wrong-method", 405, "", method="PUT", path="/traces/{trace}", auth="api"),
]


def headers_for(case: Case, ctx: Ctx) -> dict[str, str]:
    if case.auth == "none":
        return {}
    if case.auth.startswith("raw:"):
        return {"Authorization": case.auth[4:]}
    if case.auth == "other-upload":
        token = ctx.other_token
    else:
        token = {"upload": ctx.token, "api": ctx.server.api_token}[case.auth]
    return {"Authorization": f"Bearer {token}"}


def count_traces(api: httpx.Client) -> int:
    total, cursor = 0, None
    while True:
        body = api.get(
            "/traces", params={"limit": 500, **({"cursor": cursor} if cursor else {})}
        ).json()
        total += len(body["traces"])
        cursor = body["next_cursor"]
        if not cursor:
            return total


@pytest.fixture(scope="module")
def http(server: AppServer) -> Iterator[httpx.Client]:
    with server.http(timeout=120) as client:
        yield client


@pytest.fixture
def ctx(server: AppServer, http: httpx.Client) -> Ctx:
    developer = f"bad-{uuid.uuid4().hex[:12]}"
    trace_id, token = create_trace(http, developer, server.api_token)
    accepted = send_good(http, trace_id, token, 0, GOOD)
    assert accepted.status_code == 200 and accepted.json()["accepted"] == 3
    return Ctx(server, http, trace_id, token, developer)


def assert_nothing_stored(api: httpx.Client, ctx: Ctx, traces_before: int) -> None:
    """The good batch is intact and alone, the trace open, no trace made; and
    seq 1 and the bad batch's ids are still free."""
    events = api.get(f"/traces/{ctx.trace_id}/events").json()
    assert events == {"events": GOOD, "next_after": None}
    document = api.get(f"/traces/{ctx.trace_id}").json()
    assert document["status"] == "open"
    assert document["events"] == GOOD
    assert document["artifacts"] == {}
    summary = api.get("/traces", params={"developer": document["developer"]["id"]}).json()["traces"]
    assert [(s["trace_id"], s["events"], s["status"]) for s in summary] == [
        (ctx.trace_id, 3, "open")
    ]
    assert api.get("/traces", params={"developer": "bad-create"}).json()["traces"] == []
    assert count_traces(api) == traces_before

    follow_up = send_good(ctx.http, ctx.trace_id, ctx.token, 1, batch_events("bad"))
    assert follow_up.status_code == 200, follow_up.text
    assert follow_up.json()["duplicate"] is False
    assert follow_up.json()["accepted"] == 5
    stored = api.get(f"/traces/{ctx.trace_id}/events").json()["events"]
    assert stored == GOOD + batch_events("bad")


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_is_refused_and_stores_nothing(case: Case, ctx: Ctx, api: httpx.Client) -> None:
    body = case.body(ctx) if callable(case.body) else case.body
    headers = headers_for(case, ctx)
    traces_before = count_traces(api)
    response = ctx.http.request(
        case.method,
        case.path.format(trace=ctx.trace_id),
        content=body,
        params=case.params,
        headers=headers,
    )
    assert response.status_code == case.status, response.text
    assert response.headers["content-type"].startswith("application/json")
    error = response.json()
    assert error["status_code"] == case.status
    assert isinstance(error["detail"], str) and error["detail"].strip()
    for needle in (case.detail,) if isinstance(case.detail, str) else case.detail:
        assert needle in error["detail"], error
    assert error.get("field") == case.field, error
    assert_nothing_stored(api, ctx, traces_before)


def test_cases_cover_the_issue(server: AppServer) -> None:
    """At least 25 kinds, and every status the contract names for bad input."""
    assert len({c.id for c in CASES}) == len(CASES) >= 25
    assert {400, 401, 403, 404, 405, 413, 422} <= {c.status for c in CASES}


@pytest.mark.parametrize("path", ["/traces/{trace}/events", "/traces/{trace}/finalize"])
def test_non_utf8_names_the_bad_bytes_and_their_offset(
    path: str, ctx: Ctx, api: httpx.Client
) -> None:
    """msgspec 0.23 only says "Invalid UTF-8 encoded string"; a client fixing its
    encoder needs to know which bytes, and where in the body it sent."""
    if path.endswith("/events"):
        body = j(batch()).replace(b'"hmm"', b'"h\xe2\x82m"')  # a cut-off euro sign
    else:
        body = b'{"artifacts": {"final_patch": "-a\\n+\xe2\x82"}}'
    offset = body.index(b"\xe2\x82")
    traces_before = count_traces(api)
    response = ctx.http.post(
        path.format(trace=ctx.trace_id),
        content=body,
        headers={"Authorization": f"Bearer {ctx.token}"},
    )
    assert response.status_code == 400, response.text
    detail = response.json()["detail"]
    assert "not valid UTF-8" in detail and f"0xe2 0x82 at offset {offset}" in detail, detail
    assert_nothing_stored(api, ctx, traces_before)


def test_body_over_32_mib_is_413_and_stores_nothing(ctx: Ctx, api: httpx.Client) -> None:
    traces_before = count_traces(api)
    # A real batch, padded inside a string so that only its size is wrong.
    events = [thought("huge-0", "x" * (MAX_BODY_BYTES + 1024))]
    body = j({"seq": 1, "events": events})
    assert len(body) > MAX_BODY_BYTES
    response = ctx.http.post(
        f"/traces/{ctx.trace_id}/events",
        content=body,
        headers={"Authorization": f"Bearer {ctx.token}"},
    )
    assert response.status_code == 413, response.text[:300]
    error = response.json()
    assert error["status_code"] == 413
    assert "too large" in error["detail"]
    assert_nothing_stored(api, ctx, traces_before)
    # Nothing reached the blob store either.
    assert not any((ctx.server.home / "blobs").rglob("sha256/*/*"))


def test_chunked_body_over_32_mib_is_413(ctx: Ctx, api: httpx.Client) -> None:
    """No Content-Length to refuse up front: the server must still stop at the limit."""
    traces_before = count_traces(api)

    def chunks() -> Iterator[bytes]:
        yield (
            b'{"seq": 1, "events": [{"type": "thought", "id": "c", "t": "2024-05-01T10:00:00Z", '
            b'"session_id": "s", "raw": "'
        )
        for _ in range(MAX_BODY_BYTES // (1 << 20) + 2):
            yield b"y" * (1 << 20)
        yield b'"}]}'

    response = ctx.http.post(
        f"/traces/{ctx.trace_id}/events",
        content=chunks(),
        headers={"Authorization": f"Bearer {ctx.token}"},
    )
    assert response.status_code == 413, response.text[:300]
    assert "too large" in response.json()["detail"]
    assert_nothing_stored(api, ctx, traces_before)


def test_no_5xx_after_all_that(server: AppServer, http: httpx.Client) -> None:
    """The server is healthy and logged no internal error for any case above."""
    assert http.get("/healthz").status_code == 200
    log = server.log_text()
    assert "internal error" not in log
    assert "Traceback" not in log
