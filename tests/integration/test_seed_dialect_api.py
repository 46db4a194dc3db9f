"""The seed's dialect (``trace-1.0.0``) through a real ``prtrace serve`` over HTTP (issue 14).

The seed's example trace goes in verbatim — create, its five events without ids,
finalize with its artifacts — and comes back with ``?format=seed`` equal field by
field, plus what the server added (ids, times, status, qa). Around it: a retried
batch without ids is a no-op and another batch at that seq a 409; bad seed input
names the field as the seed spells it; a native trace and a seed trace side by side
are listed, filtered, exported and replayed the same way (QA with Docker:
tests/e2e/test_seed_dialect_qa.py).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import msgspec
import pytest

from prtrace.client import Client
from prtrace.demo.server import ServerProcess
from prtrace.dialects.seed import seed_schema
from prtrace.hashing import text_hash
from prtrace.replay import load_trace, replay
from tests.support.qa_support import diff_of, make_repo

EXAMPLE_PATH = Path(__file__).parents[1] / "support" / "seed" / "trace-example.json"
SEED_VERSION = "trace-1.0.0"


def example() -> dict[str, Any]:
    return json.loads(EXAMPLE_PATH.read_text())


@pytest.fixture(scope="module")
def server(module_prtrace_server: ServerProcess) -> ServerProcess:
    return module_prtrace_server


@pytest.fixture
def api(server: ServerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=server.url, headers={"Authorization": f"Bearer {server.api_token}"}, timeout=60
    ) as client:
        yield client


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def create_seed_trace(api: httpx.Client, doc: dict[str, Any]) -> tuple[str, str]:
    body = {k: doc[k] for k in ("developer", "task", "environment")}
    answer = api.post("/traces", json=body)
    assert answer.status_code == 201, answer.text
    created = answer.json()
    return created["trace_id"], created["upload_token"]


def send_example(api: httpx.Client) -> tuple[str, str, dict[str, Any]]:
    doc = example()
    trace_id, token = create_seed_trace(api, doc)
    batch = {"seq": 0, "events": doc["events"]}
    sent = api.post(f"/traces/{trace_id}/events", json=batch, headers=bearer(token))
    assert sent.status_code == 200, sent.text
    assert sent.json()["accepted"] == 5
    sealed = api.post(
        f"/traces/{trace_id}/finalize", json={"artifacts": doc["artifacts"]}, headers=bearer(token)
    )
    assert sealed.status_code == 200, sealed.text
    return trace_id, token, doc


# --- the example, verbatim, there and back -----------------------------------------------


def test_the_seeds_example_goes_in_verbatim_and_comes_back_field_by_field(
    api: httpx.Client,
) -> None:
    trace_id, _token, sent = send_example(api)
    back = api.get(f"/traces/{trace_id}", params={"format": "seed"})
    assert back.status_code == 200, back.text
    doc = back.json()

    # What the server added: its own id and time, the state, ids, qa.
    assert doc["version"] == SEED_VERSION
    assert doc["trace_id"] == trace_id != sent["trace_id"]
    assert doc["created_at"].endswith("Z") and doc["status"] == "sealed" and doc["sealed_at"]
    assert doc["qa"] == {"status": "none"}
    # The server's attribution of the final patch, under the artifacts' `prtrace` object.
    assert "lines" in doc["artifacts"].pop("prtrace")["attribution"]
    # What the client sent: every field, every value, in its order.
    for section in ("developer", "task", "environment", "artifacts"):
        assert doc[section] == sent[section], section
        assert list(doc[section]) == list(sent[section]), section
    assert len(doc["events"]) == len(sent["events"]) == 5
    ids = [event.pop("id") for event in doc["events"]]
    assert ids == [f"b0.{i}" for i in range(5)]  # from the batch and the place: stable
    for got, given in zip(doc["events"], sent["events"], strict=True):
        assert got == given
        assert list(got) == list(given)
    assert set(doc) == {
        "trace_id",
        "created_at",
        "version",
        "status",
        "sealed_at",
        "developer",
        "task",
        "environment",
        "events",
        "artifacts",
        "qa",
    }
    jsonschema.validate(back.json(), seed_schema())


def test_the_native_view_of_a_seed_trace_is_prtraces_format(server: ServerProcess) -> None:
    with httpx.Client(base_url=server.url, headers=bearer(server.api_token), timeout=60) as http:
        trace_id, _token, _sent = send_example(http)
        native = http.get(f"/traces/{trace_id}").json()
    with Client(server.url, server.api_token) as client:
        trace = client.get_trace(trace_id)  # decodes as prtrace's own Trace
        seed_view = client.get_trace(trace_id, format="seed")
    assert native["version"].startswith("prtrace-") and native["version"] != SEED_VERSION
    assert native["developer"]["id"] == "string"  # derived from the email the seed sent
    assert native["dialect"] == {
        "name": "seed",
        "derived": ["developer.id"],
        "keys": {
            "developer": ["name", "email", "experience_level", "ide", "os"],
            "task": [
                "description",
                "repository",
                "branch",
                "commit",
                "test_image",
                "test_command",
                "complexity",
            ],
            "environment": ["os", "editor", "version", "plugins", "workspace_size"],
        },
    }
    gtd = native["events"][1]
    assert gtd["path"] == "src/main.go" and gtd["range"]["start"] == {"line": 10, "character": 5}
    assert gtd["targets"] == [{"path": "src/calculator.go", "line": 25}]
    assert gtd["dialect"]["extra"] == {"symbol_kind": ["function"]}
    edit = native["events"][2]
    assert (edit["type"], edit["before_hash"], edit["after_hash"]) == ("edit", "abc123", "def456")
    assert trace.events[2].before_hash == "abc123"
    assert seed_view["version"] == SEED_VERSION and seed_view["events"][1]["target"] == {
        "file_path": "src/calculator.go",
        "line": 25,
        "symbol_kind": "function",
    }


def test_edit_made_and_the_git_events_with_only_the_seeds_fields(api: httpx.Client) -> None:
    doc = example()
    trace_id, token = create_seed_trace(api, doc)
    events = [
        {**doc["events"][2], "type": "edit_made"},
        {"t": "2024-01-15T10:31:00Z", "type": "commit_made", "session_id": "s", "hash": "abc123"},
        {"t": "2024-01-15T10:31:01Z", "type": "push_remote", "session_id": "s", "branch": "fix"},
        {"t": "2024-01-15T10:31:02Z", "type": "pr_opened", "session_id": "s", "title": "Fix"},
        {
            "t": "2024-01-15T10:31:03Z",
            "type": "find_references",
            "session_id": "s",
            "source": {"file_path": "a.go", "symbol": "f"},
            "latency_ms": 12.5,
        },
    ]
    sent = api.post(
        f"/traces/{trace_id}/events", json={"seq": 3, "events": events}, headers=bearer(token)
    )
    assert sent.status_code == 200, sent.text
    back = api.get(f"/traces/{trace_id}", params={"format": "seed"}).json()["events"]
    assert [{k: v for k, v in e.items() if k != "id"} for e in back] == events
    native = api.get(f"/traces/{trace_id}").json()["events"]
    assert [e["type"] for e in native][:2] == ["edit", "commit_made"]
    assert "hash" not in native[1]  # not a commit id: kept as given, for the seed's view
    assert native[1]["dialect"]["extra"] == {"hash": "abc123"}


# --- retries ----------------------------------------------------------------------------


def test_a_retried_batch_without_ids_is_a_no_op_and_another_at_its_seq_a_409(
    api: httpx.Client,
) -> None:
    doc = example()
    trace_id, token = create_seed_trace(api, doc)
    batch = {"seq": 0, "events": doc["events"]}
    first = api.post(f"/traces/{trace_id}/events", json=batch, headers=bearer(token))
    again = api.post(f"/traces/{trace_id}/events", json=batch, headers=bearer(token))
    assert first.json()["accepted"] == 5 and not first.json()["duplicate"]
    assert again.status_code == 200 and again.json() == {
        "trace_id": trace_id,
        "seq": 0,
        "accepted": 0,
        "duplicate": True,
    }
    other = {"seq": 0, "events": doc["events"][:4]}
    conflict = api.post(f"/traces/{trace_id}/events", json=other, headers=bearer(token))
    assert conflict.status_code == 409 and conflict.json()["field"] == "seq"
    # The next batch without ids gets ids of its own: unique in the trace.
    nxt = api.post(
        f"/traces/{trace_id}/events",
        json={"seq": 1, "events": doc["events"]},
        headers=bearer(token),
    )
    assert nxt.json()["accepted"] == 5
    ids = [e["id"] for e in api.get(f"/traces/{trace_id}").json()["events"]]
    assert len(ids) == len(set(ids)) == 10
    assert ids[5:] == [f"b1.{i}" for i in range(5)]


# --- bad input in the seed's terms ----------------------------------------------------


def _set(obj: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    target: Any = obj
    *parents, last = path.split(".")
    for key in parents:
        target = target[int(key)] if isinstance(target, list) else target[key]
    if value is _DROP:
        del target[last]
    else:
        target[last] = value
    return obj


_DROP = object()
BAD_EVENTS = [
    ("events.1.source.range.start.col", "5", "events[1].source.range.start.col", "`int`"),
    ("events.1.target.line", 0, "events[1].target.line", ">= 1"),
    ("events.1.source.file_path", _DROP, "events[1].source.file_path", "missing"),
    ("events.0.file_path", _DROP, "events[0].file_path", "missing"),
    ("events.2.range.end.col", -1, "events[2].range.end.col", ">= 0"),
    ("events.2.op", "move", "events[2].op", "'move'"),
    ("events.3.args", "-v", "events[3].args", "got `str`"),
    ("events.4.t", "2024-01-15T10:30:35", "events[4].t", "timezone"),
    ("events.4.colour", "red", "events[4].colour", "unknown field"),
    ("events.2.type", "teleported", "events[2].type", "unknown event type"),
]


@pytest.mark.parametrize(("path", "value", "field", "says"), BAD_EVENTS)
def test_bad_seed_events_name_the_field_as_the_client_spelled_it(
    api: httpx.Client, path: str, value: Any, field: str, says: str
) -> None:
    doc = example()
    trace_id, token = create_seed_trace(api, doc)
    _set(doc, path, value)
    answer = api.post(
        f"/traces/{trace_id}/events",
        json={"seq": 0, "events": doc["events"]},
        headers=bearer(token),
    )
    assert answer.status_code == 422, answer.text
    error = answer.json()
    assert error["field"] == field, error
    assert says in error["detail"], error
    assert api.get(f"/traces/{trace_id}").json()["events"] == []  # nothing stored


def test_bad_seed_trace_bodies_name_the_field(api: httpx.Client) -> None:
    doc = example()
    body = {k: doc[k] for k in ("developer", "task", "environment")}
    nameless = {**body, "developer": {"experience_level": "mid"}}
    answer = api.post("/traces", json=nameless)
    assert answer.status_code == 422 and answer.json()["field"] == "developer.email"
    bad_size = {**body, "environment": {**body["environment"], "workspace_size": "big"}}
    answer = api.post("/traces", json=bad_size)
    assert answer.status_code == 422 and answer.json()["field"] == "environment.workspace_size"
    no_commit = {**body, "task": {k: v for k, v in body["task"].items() if k != "commit"}}
    answer = api.post("/traces", json=no_commit)
    assert answer.status_code == 422 and answer.json()["field"] == "task.commit"
    assert api.get("/traces/tr_nope", params={"format": "yaml"}).json()["field"] == "format"


# --- mixed: a native trace and a seed trace the same way ---------------------------------

CALC = "def add(a, b):\n    return a - b\n"
FIXED = CALC.replace("a - b", "a + b")


def _native_trace(api: httpx.Client, repo: Path, commit: str, patch: str, dev: str) -> str:
    created = api.post(
        "/traces",
        json={
            "developer": {"id": dev},
            "task": {"repository": str(repo), "commit": commit},
        },
    ).json()
    event = {
        "type": "edit",
        "id": "n-0",
        "t": "2024-01-15T10:30:25Z",
        "session_id": "ses_native",
        "path": "calc.py",
        "op": "replace",
        "patch_unified": patch,
        "before_hash": text_hash(CALC),
        "after_hash": text_hash(FIXED),
    }
    token = bearer(created["upload_token"])
    tid = created["trace_id"]
    assert api.post(f"/traces/{tid}/events", json={"seq": 0, "events": [event]}, headers=token)
    api.post(f"/traces/{tid}/finalize", json={"artifacts": {"final_patch": patch}}, headers=token)
    return tid


def _seed_trace(api: httpx.Client, repo: Path, commit: str, patch: str, email: str) -> str:
    created = api.post(
        "/traces",
        json={
            "developer": {"name": "Sam", "email": email, "experience_level": "mid"},
            "task": {"repository": str(repo), "commit": commit, "complexity": "low"},
        },
    ).json()
    event = {
        "t": "2024-01-15T10:30:25Z",
        "type": "edit_made",
        "session_id": "session-1",
        "file_path": "calc.py",
        "op": "replace",
        "patch_unified": patch,
        "before_hash": "abc123",
        "after_hash": "def456",
    }
    token = bearer(created["upload_token"])
    tid = created["trace_id"]
    sent = api.post(f"/traces/{tid}/events", json={"seq": 0, "events": [event]}, headers=token)
    assert sent.status_code == 200, sent.text
    api.post(f"/traces/{tid}/finalize", json={"artifacts": {"final_patch": patch}}, headers=token)
    return tid


def test_native_and_seed_traces_are_listed_filtered_exported_and_replayed_alike(
    api: httpx.Client, server: ServerProcess, tmp_path: Path
) -> None:
    repo, commit = make_repo(tmp_path / "calc", {"calc.py": CALC})
    patch = diff_of(repo, {"calc.py": FIXED})
    dev = f"nat-{uuid.uuid4().hex[:6]}"
    email = f"sam-{uuid.uuid4().hex[:6]}@example.com"
    native_id = _native_trace(api, repo, commit, patch, dev)
    seed_id = _seed_trace(api, repo, commit, patch, email)

    listed = api.get("/traces", params={"repository": str(repo)}).json()["traces"]
    assert {t["trace_id"] for t in listed} == {native_id, seed_id}
    assert all(t["status"] == "sealed" and t["events"] == 1 for t in listed)
    by_dev = api.get("/traces", params={"developer": email}).json()["traces"]
    assert [t["trace_id"] for t in by_dev] == [seed_id]

    native_lines = api.get("/export", params={"repository": str(repo)}).text.splitlines()
    seed_lines = api.get(
        "/export", params={"repository": str(repo), "format": "seed"}
    ).text.splitlines()
    natives = {d["trace_id"]: d for d in map(json.loads, native_lines)}
    seeds = {d["trace_id"]: d for d in map(json.loads, seed_lines)}
    assert set(natives) == set(seeds) == {native_id, seed_id}
    assert {d["version"] for d in natives.values()} == {natives[native_id]["version"]}
    assert {d["version"] for d in seeds.values()} == {SEED_VERSION}
    for doc in seeds.values():
        jsonschema.validate(doc, seed_schema())
    # The native trace in the seed's shape: the seed's names, prtrace's extras apart.
    shown = seeds[native_id]["events"][0]
    assert shown["file_path"] == "calc.py" and "path" not in shown
    assert seeds[native_id]["developer"] == {"prtrace": {"id": dev}}
    assert seeds[seed_id]["events"][0]["type"] == "edit_made"
    assert seeds[seed_id]["developer"] == {"name": "Sam", "email": email, "experience_level": "mid"}

    # Replay: the same code for both; the seed's hashes are kept, so unverifiable.
    with Client(server.url, server.api_token) as client:
        results = {}
        for tid in (native_id, seed_id):
            trace = load_trace(tid, client)
            results[tid] = (trace, replay(trace, tmp_path / f"replay-{tid}"))
    for tid, (trace, result) in results.items():
        assert result.ok, result.disagreement
        assert result.diff() == trace.artifacts.final_patch == patch
    assert results[native_id][1].unverifiable == []
    assert results[seed_id][1].unverifiable == ["b0.0"]
    # A seed-shaped export line replays too: documents are recognised by their shape.
    seed_file = tmp_path / "seed.jsonl"
    seed_file.write_text(json.dumps(seeds[seed_id]) + "\n")
    from_file = load_trace(seed_file)
    plain = [msgspec.structs.replace(e, dialect=None) for e in from_file.events]
    assert plain == [msgspec.structs.replace(e, dialect=None) for e in results[seed_id][0].events]
    assert from_file.events[0].dialect.extra == {"type": "edit_made"}
    assert from_file.developer == results[seed_id][0].developer
