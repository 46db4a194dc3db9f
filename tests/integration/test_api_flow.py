"""The seed flow over real HTTP against a real ``prtrace serve`` (issue 2).

create → three batches of a realistic recorded session (every event type) →
finalize with a final patch → ``GET /traces/{id}`` gives back every event in
order, sealed, valid against the trace JSON Schema. Around it: idempotent
retries, 409s, the token rules, blob offload of large output, the list,
events and export endpoints, health and OpenAPI, and no plaintext token in
the database files or the server log.

One server serves the whole module (each test makes its own traces and
repositories, so they do not see each other); it is built exactly as the
``prtrace_server`` fixture builds it, only module-scoped to keep the file fast.
"""

from __future__ import annotations

import json
import subprocess
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import msgspec
import pytest

from prtrace import events as ev
from prtrace.client import Client
from prtrace.demo import make_sample_repo, recorded_session
from prtrace.demo.server import ServerProcess, prtrace_command
from prtrace.hashing import text_hash
from prtrace.trace import Artifacts

START = datetime(2024, 3, 4, 9, 30, tzinfo=UTC)
SESSION = "ses_flow"
BLOB_THRESHOLD = 64 * 1024


# --- the server and helpers -----------------------------------------------------------


@pytest.fixture(scope="module")
def server(module_prtrace_server: ServerProcess) -> ServerProcess:
    return module_prtrace_server


ISSUED_UPLOAD_TOKENS: list[str] = []
"""Every upload token the module's server handed out (the token scan looks for them)."""


@pytest.fixture
def api(server: ServerProcess) -> Iterator[httpx.Client]:
    """Raw HTTP with the API token."""
    with httpx.Client(
        base_url=server.url,
        headers={"Authorization": f"Bearer {server.api_token}"},
        timeout=60,
    ) as client:
        yield client


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def unique_repository() -> str:
    return f"https://example.com/flow-{uuid.uuid4().hex[:10]}.git"


def create(
    api: httpx.Client, *, repository: str | None = None, developer: str = "dana"
) -> tuple[str, str]:
    body = {
        "developer": {"id": developer, "name": "Dana Developer"},
        "task": {
            "repository": repository or unique_repository(),
            "commit": "3f2a9c1d",
            "branch": "main",
            "test_image": "prtrace/python:3.11",
            "test_command": "python -m pytest -q",
        },
        "environment": {"editor": "neovim", "os": "linux"},
    }
    response = api.post("/traces", json=body)
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["status"] == "open"
    assert created["trace_id"].startswith("tr_")
    assert created["upload_token"].startswith("ptu_")
    ISSUED_UPLOAD_TOKENS.append(created["upload_token"])
    return created["trace_id"], created["upload_token"]


def encode_batch(seq: int, events: list[Any]) -> bytes:
    return msgspec.json.encode({"seq": seq, "events": events})


def upload(
    server: ServerProcess, trace_id: str, token: str, seq: int, events: list[Any]
) -> httpx.Response:
    return httpx.post(
        f"{server.url}/traces/{trace_id}/events",
        content=encode_batch(seq, events),
        headers={**bearer(token), "Content-Type": "application/json"},
        timeout=60,
    )


def as_json(events: list[Any]) -> list[dict[str, Any]]:
    """What the server should give back for these events: their JSON encoding."""
    return json.loads(msgspec.json.encode(events))


def stored_events(api: httpx.Client, trace_id: str) -> list[dict[str, Any]]:
    response = api.get(f"/traces/{trace_id}/events", params={"limit": 10_000})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["next_after"] is None
    return body["events"]


def thoughts(prefix: str, n: int, start: datetime = START) -> list[ev.Thought]:
    return [
        ev.Thought(
            id=f"{prefix}-{i:04d}",
            t=start + timedelta(seconds=i),
            session_id=SESSION,
            source="cli",
            raw=f"note {i} of {prefix}",
            tags=["flow"],
        )
        for i in range(n)
    ]


def error_of(response: httpx.Response) -> dict[str, Any]:
    assert response.headers["content-type"].startswith("application/json"), response.text
    body = response.json()
    assert body["status_code"] == response.status_code
    assert isinstance(body["detail"], str) and body["detail"]
    return body


# --- a realistic session --------------------------------------------------------------


def _big_output() -> str:
    """~200 KiB of pytest-like output with colours, tabs, quotes and non-ASCII."""
    lines = []
    for i in range(2400):
        lines.append(
            f"\x1b[31mFAILED\x1b[0m tests/test_stock.py::test_case_{i:05d} - "
            f"AssertionError: assert 'naïve €{i}' == \"19.99\"\t→ 値 {i} 🚀\r"
        )
    return "MARKER-" + uuid.uuid4().hex + "\n" + "\n".join(lines) + "\n"


def _extra_events(after: datetime) -> list[ev.Event]:
    """The event types the recorded session does not use, in a plausible order."""
    t = lambda s: after + timedelta(seconds=s)  # noqa: E731
    old, new = "x = 1\n", "x = 2\n"
    rng = ev.Range(start=ev.Position(line=3, character=4), end=ev.Position(line=3, character=15))
    return [
        ev.AgentSession(
            id=f"{SESSION}-a01",
            t=t(0.1),
            session_id=SESSION,
            source="agent",
            agent="claude-code",
            agent_session_id="s-1",
            version="2.1.332",
        ),
        ev.AgentPrompt(
            id=f"{SESSION}-a02",
            t=t(0.2),
            session_id=SESSION,
            source="agent",
            agent="claude-code",
            agent_session_id="s-1",
            prompt="why does parse_price round 19.999 down?",
        ),
        ev.AgentToolCall(
            id=f"{SESSION}-a03",
            t=t(0.3),
            session_id=SESSION,
            source="agent",
            agent="claude-code",
            agent_session_id="s-1",
            tool="Bash",
            tool_use_id="toolu_1",
            input="python -m pytest -q",
            output="1 failed",
            exit_code=1,
            duration_ms=812.0,
        ),
        ev.Rename(
            id=f"{SESSION}-x01",
            t=t(1),
            session_id=SESSION,
            source="lsp",
            path="inventory/parsing.py",
            new_name="parse_price_cents",
            symbol="parse_price",
            range=rng,
            files=["inventory/parsing.py", "inventory/stock.py"],
            edits=3,
        ),
        ev.CodeAction(
            id=f"{SESSION}-x02",
            t=t(2),
            session_id=SESSION,
            source="lsp",
            path="inventory/parsing.py",
            title="Organize imports",
            kind="source.organizeImports",
            range=rng,
            files=["inventory/parsing.py"],
        ),
        ev.FileCreated(
            id=f"{SESSION}-x03",
            t=t(3),
            session_id=SESSION,
            source="fs",
            path="tests/test_prices.py",
            hash=text_hash(old),
            size=len(old),
            patch_unified="--- /dev/null\n+++ b/tests/test_prices.py\n@@ -0,0 +1 @@\n+x = 1\n",
        ),
        ev.FileChanged(
            id=f"{SESSION}-x04",
            t=t(4),
            session_id=SESSION,
            source="fs",
            path="tests/test_prices.py",
            before_hash=text_hash(old),
            after_hash=text_hash(new),
            size=len(new),
            patch_unified="--- a/tests/test_prices.py\n+++ b/tests/test_prices.py\n@@ -1 +1 @@\n-x = 1\n+x = 2\n",
        ),
        ev.FileMoved(
            id=f"{SESSION}-x05",
            t=t(5),
            session_id=SESSION,
            source="fs",
            path="tests/test_price_parsing.py",
            from_path="tests/test_prices.py",
            hash=text_hash(new),
        ),
        ev.FileDeleted(
            id=f"{SESSION}-x06",
            t=t(6),
            session_id=SESSION,
            source="fs",
            path="tests/test_price_parsing.py",
            before_hash=text_hash(new),
        ),
        ev.BranchSwitched(
            id=f"{SESSION}-x07",
            t=t(7),
            session_id=SESSION,
            source="git",
            to_branch="fix/decimal-prices",
            from_branch="main",
            hash="3f2a9c1d",
        ),
        ev.PushRemote(
            id=f"{SESSION}-x08",
            t=t(8),
            session_id=SESSION,
            source="git",
            remote="origin",
            branch="fix/decimal-prices",
            url="https://example.com/inventory.git",
            exit_code=0,
        ),
        ev.PrOpened(
            id=f"{SESSION}-x09",
            t=t(9),
            session_id=SESSION,
            source="git",
            url="https://example.com/inventory/pull/7",
            title="Parse prices with Decimal",
            number=7,
            base="main",
            head="fix/decimal-prices",
        ),
    ]


class Session(msgspec.Struct):
    batches: list[list[ev.Event]]
    patch: str
    big_stdout: str

    @property
    def events(self) -> list[ev.Event]:
        return [e for batch in self.batches for e in batch]


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> Session:
    repo, commit = make_sample_repo(tmp_path_factory.mktemp("sample") / "inventory")
    recorded, patch = recorded_session(repo, commit, session_id=SESSION, start=START)
    big_stdout = _big_output()
    assert len(big_stdout.encode()) > 3 * BLOB_THRESHOLD
    big = ev.TerminalCommand(
        id=f"{SESSION}-big",
        t=recorded[-1].t + timedelta(seconds=1),
        session_id=SESSION,
        source="shell",
        cmd="python -m pytest -q -x tests",
        args=["python", "-m", "pytest"],
        cwd="/work/inventory",
        exit_code=1,
        duration_ms=5210.5,
        stdout=big_stdout,
        stderr="warning: deprecated\n",
        output_bytes=len(big_stdout.encode()),
    )
    extras = _extra_events(big.t)
    middle = len(recorded) // 2
    batches = [recorded[:middle], [*recorded[middle:], big], extras]
    return Session(batches=batches, patch=patch, big_stdout=big_stdout)


@pytest.fixture(scope="module")
def trace_schema(server: ServerProcess) -> dict[str, Any]:
    """The JSON Schema of ``prtrace schema``, checked to be what the server serves."""
    printed = subprocess.run(
        [*prtrace_command(), "schema"], capture_output=True, check=True, timeout=60
    ).stdout
    schema = json.loads(printed)
    served = httpx.get(f"{server.url}/trace-schema.json", timeout=30)
    assert served.status_code == 200
    assert served.json() == schema
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)
    return schema


def validate(document: dict[str, Any], schema: dict[str, Any]) -> None:
    validator = jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )
    validator.validate(document)


# --- the seed flow ------------------------------------------------------------------


def test_seed_flow_create_three_batches_finalize_get(
    server: ServerProcess, api: httpx.Client, session: Session, trace_schema: dict[str, Any]
) -> None:
    repository = unique_repository()
    trace_id, token = create(api, repository=repository)

    for seq, batch in enumerate(session.batches):
        response = upload(server, trace_id, token, seq, batch)
        assert response.status_code == 200, response.text
        assert response.json() == {
            "trace_id": trace_id,
            "seq": seq,
            "accepted": len(batch),
            "duplicate": False,
        }

    final = httpx.post(
        f"{server.url}/traces/{trace_id}/finalize",
        json={"artifacts": {"final_patch": session.patch}},
        headers=bearer(token),
        timeout=60,
    )
    assert final.status_code == 200, final.text
    sealed = final.json()
    assert sealed["status"] == "sealed"
    assert sealed["events"] == len(session.events)
    assert sealed["sealed_at"]
    assert sealed.get("qa_job_id") is None  # QA on finalize is off for this server

    response = api.get(f"/traces/{trace_id}")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    document = response.json()
    assert document["trace_id"] == trace_id
    assert document["version"] == "prtrace-2.0.0"
    assert document["status"] == "sealed"
    assert document["sealed_at"]
    assert document["developer"] == {"id": "dana", "name": "Dana Developer"}
    assert document["task"]["repository"] == repository
    assert document["task"]["commit"] == "3f2a9c1d"
    assert document["environment"] == {"editor": "neovim", "os": "linux"}
    attribution = document["artifacts"].pop("attribution")  # the server's, from the events
    assert attribution["ai_share"] == 0.0 and attribution["files"]
    assert document["artifacts"] == {"final_patch": session.patch}
    assert document["qa"]["status"] == "none"

    # Every event, in order (seq, then position), each exactly as sent.
    assert [e["id"] for e in document["events"]] == [e.id for e in session.events]
    assert document["events"] == as_json(session.events)
    assert {e["type"] for e in document["events"]} == set(ev.EVENT_TYPES)

    validate(document, trace_schema)
    # The validation really looks at the events: a broken one is refused.
    broken = json.loads(response.content)
    broken["events"][3]["range"] = {"start": {"line": -1, "character": 0}}
    with pytest.raises(jsonschema.ValidationError):
        validate(broken, trace_schema)

    # The Python client reads the same document into the same events.
    with Client(server.url, server.api_token) as client:
        trace = client.get_trace(trace_id)
    assert trace.status == "sealed"
    assert trace.events == session.events
    assert trace.artifacts.final_patch == session.patch

    # The summary agrees.
    listed = api.get("/traces", params={"repository": repository}).json()["traces"]
    assert [(s["trace_id"], s["status"], s["events"]) for s in listed] == [
        (trace_id, "sealed", len(session.events))
    ]


def test_large_stdout_goes_to_blob_store_and_comes_back_whole(
    server: ServerProcess, api: httpx.Client, session: Session
) -> None:
    trace_id, token = create(api)
    big = next(e for e in session.events if e.id == f"{SESSION}-big")
    small = thoughts("blob", 2, START)
    assert upload(server, trace_id, token, 0, [small[0], big, small[1]]).status_code == 200

    def check_whole() -> None:
        document = api.get(f"/traces/{trace_id}").json()
        assert document["events"] == as_json([small[0], big, small[1]])
        page = api.get(f"/traces/{trace_id}/events", params={"type": "terminal_command"}).json()
        assert [e["stdout"] for e in page["events"]] == [session.big_stdout]

    check_whole()  # open: assembled from the database and the blob store

    # The output is in the blob store, byte for byte, and not in the database.
    data = session.big_stdout.encode("utf-8")
    blob = (
        server.home
        / "blobs"
        / "sha256"
        / text_hash(session.big_stdout)[:2]
        / text_hash(session.big_stdout)
    )
    assert blob.read_bytes() == data
    marker = session.big_stdout.split("\n", 1)[0].encode()
    for path in database_files(server.home):
        assert marker not in path.read_bytes(), f"large stdout stored inline in {path.name}"

    assert api.post(f"/traces/{trace_id}/finalize").status_code == 200
    check_whole()  # sealed: the archived document
    exported = [
        json.loads(line)
        for line in api.get(
            "/export",
            params={"repository": api.get(f"/traces/{trace_id}").json()["task"]["repository"]},
        ).content.splitlines()
    ]
    assert [d["trace_id"] for d in exported] == [trace_id]
    assert exported[0]["events"][1]["stdout"] == session.big_stdout


# --- idempotency, conflicts, finalize ---------------------------------------------------


def test_retry_same_seq_is_a_duplicate_and_other_events_409(
    server: ServerProcess, api: httpx.Client
) -> None:
    trace_id, token = create(api)
    first, second, other = thoughts("a", 3), thoughts("b", 4), thoughts("c", 2)
    assert upload(server, trace_id, token, 0, first).json()["accepted"] == 3
    assert upload(server, trace_id, token, 1, second).json()["accepted"] == 4

    # The same seq and events again: a no-op success.
    retry = upload(server, trace_id, token, 1, second)
    assert retry.status_code == 200
    assert retry.json() == {"trace_id": trace_id, "seq": 1, "accepted": 0, "duplicate": True}

    # A client that retries sends the same bytes again, through any path: the
    # Python client's encoding of the same events is the same batch.
    with Client(server.url, server.api_token) as client:
        again = client.upload_events(trace_id, 0, first, token=token)
    assert (again.accepted, again.duplicate) == (0, True)

    # The same seq with other events: 409 naming seq; nothing changes.
    conflict = upload(server, trace_id, token, 1, other)
    assert conflict.status_code == 409
    body = error_of(conflict)
    assert body["field"] == "seq"
    assert "seq 1" in body["detail"]
    # ... even when only one event differs by one field.
    changed = [*second[:3], msgspec.structs.replace(second[3], raw="edited")]
    assert upload(server, trace_id, token, 1, changed).status_code == 409

    assert stored_events(api, trace_id) == as_json(first + second)
    summary = api.get(
        "/traces",
        params={"repository": api.get(f"/traces/{trace_id}").json()["task"]["repository"]},
    ).json()
    assert summary["traces"][0]["events"] == 7

    # Batches are ordered by seq, not by arrival.
    assert upload(server, trace_id, token, 7, other[1:]).status_code == 200
    assert upload(server, trace_id, token, 5, other[:1]).status_code == 200
    assert [e["id"] for e in stored_events(api, trace_id)] == [
        *(e.id for e in first),
        *(e.id for e in second),
        other[0].id,
        other[1].id,
    ]


def test_finalize_seals_later_events_409_and_retries_are_safe(
    server: ServerProcess, api: httpx.Client
) -> None:
    trace_id, token = create(api)
    batch = thoughts("f", 3)
    assert upload(server, trace_id, token, 0, batch).status_code == 200

    patch = "diff --git a/x b/x\n--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\n+b\n"
    first = httpx.post(
        f"{server.url}/traces/{trace_id}/finalize",
        json={"artifacts": {"final_patch": patch}},
        headers=bearer(token),
    )
    assert first.status_code == 200
    assert first.json()["status"] == "sealed" and first.json()["events"] == 3

    # New events after finalize: 409, nothing stored.
    late = upload(server, trace_id, token, 1, thoughts("late", 1))
    assert late.status_code == 409
    assert "sealed" in error_of(late)["detail"]
    # A retry of an acknowledged batch is still the no-op it always was.
    again = upload(server, trace_id, token, 0, batch)
    assert again.status_code == 200 and again.json()["duplicate"] is True

    # Finalize again: without a body, or with the same artifacts, is a no-op success.
    for kwargs in ({}, {"json": {"artifacts": {"final_patch": patch}}}, {"json": {}}):
        retry = httpx.post(
            f"{server.url}/traces/{trace_id}/finalize", headers=bearer(token), **kwargs
        )
        assert retry.status_code == 200, (kwargs, retry.text)
        assert retry.json()["status"] == "sealed"
        assert retry.json()["events"] == 3
        assert retry.json()["sealed_at"] == first.json()["sealed_at"]
    # With other artifacts: 409, and the first patch stays.
    other = httpx.post(
        f"{server.url}/traces/{trace_id}/finalize",
        json={"artifacts": {"final_patch": patch + "+c\n"}},
        headers=bearer(token),
    )
    assert other.status_code == 409
    assert error_of(other)["field"] == "artifacts"

    document = api.get(f"/traces/{trace_id}").json()
    assert document["status"] == "sealed"
    assert document["artifacts"].pop("attribution")["lines"]["agent"] == 0
    assert document["artifacts"] == {"final_patch": patch}
    assert document["events"] == as_json(batch)

    # The client says the same (and an API token may finalize too).
    other_id, other_token = create(api)
    with Client(server.url, server.api_token) as client:
        client.upload_events(other_id, 0, thoughts("g", 2), token=other_token)
        done = client.finalize(other_id, Artifacts(final_patch=patch))
        assert done.status == "sealed" and done.events == 2
        assert client.finalize(other_id).status == "sealed"


# --- tokens ---------------------------------------------------------------------------


def test_token_rules(server: ServerProcess, api: httpx.Client) -> None:
    a_id, a_token = create(api)
    b_id, b_token = create(api)
    assert upload(server, a_id, a_token, 0, thoughts("ta", 2)).status_code == 200

    # Another trace's upload token can neither add events nor finalize.
    cross = upload(server, a_id, b_token, 1, thoughts("tb", 1))
    assert cross.status_code == 403
    assert a_id in error_of(cross)["detail"]
    cross_final = httpx.post(f"{server.url}/traces/{a_id}/finalize", headers=bearer(b_token))
    assert cross_final.status_code == 403

    # No token: 401 and the challenge; a token that is not Bearer: 401.
    missing = httpx.post(
        f"{server.url}/traces/{a_id}/events", content=encode_batch(1, thoughts("tc", 1))
    )
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"] == "Bearer"
    assert "Authorization" in error_of(missing)["detail"]
    basic = httpx.post(
        f"{server.url}/traces/{a_id}/events",
        content=encode_batch(1, []),
        headers={"Authorization": f"Basic {a_token}"},
    )
    assert basic.status_code == 401
    for path in ("/traces", f"/traces/{a_id}", f"/traces/{a_id}/events", "/export"):
        assert httpx.get(server.url + path).status_code == 401, path

    # Bad tokens: 403.
    for bad in ("ptu_" + "x" * 43, "pta_" + "x" * 43, "nonsense", a_token[:-1]):
        refused = upload(server, a_id, bad, 1, thoughts("td", 1))
        assert refused.status_code == 403, bad
        error_of(refused)
        assert api.get("/traces", headers=bearer(bad)).status_code == 403

    # An upload token cannot read anything, not even its own trace, nor make traces.
    for method, path in [
        ("GET", f"/traces/{a_id}"),
        ("GET", f"/traces/{a_id}/events"),
        ("GET", "/traces"),
        ("GET", "/export"),
        ("GET", "/jobs/job_x"),
        ("POST", f"/traces/{a_id}/qa"),
    ]:
        response = httpx.request(method, server.url + path, headers=bearer(a_token))
        assert response.status_code == 403, (method, path, response.text)
        assert "upload token" in error_of(response)["detail"]
    made = httpx.post(
        f"{server.url}/traces",
        headers=bearer(a_token),
        json={"developer": {"id": "x"}, "task": {"repository": "r", "commit": "abcd"}},
    )
    assert made.status_code == 403

    # None of that stored or changed anything.
    assert stored_events(api, a_id) == as_json(thoughts("ta", 2))
    assert stored_events(api, b_id) == []
    assert api.get(f"/traces/{a_id}").json()["status"] == "open"
    assert api.get(f"/traces/{b_id}").json()["status"] == "open"

    # The API token may add events to any trace.
    assert upload(server, b_id, server.api_token, 0, thoughts("te", 1)).status_code == 200
    assert len(stored_events(api, b_id)) == 1


# --- reading: lists, events, export ------------------------------------------------------


def test_list_traces_filters_and_paging(server: ServerProcess, api: httpx.Client) -> None:
    repository = unique_repository()
    made = []  # oldest first
    for i, developer in enumerate(["ann", "bob", "ann", "cy", "ann"]):
        trace_id, token = create(api, repository=repository, developer=developer)
        assert upload(server, trace_id, token, 0, thoughts(f"l{i}", i + 1)).status_code == 200
        if i % 2 == 0:
            assert (
                httpx.post(
                    f"{server.url}/traces/{trace_id}/finalize", headers=bearer(token)
                ).status_code
                == 200
            )
        made.append(trace_id)

    def listed(**params: Any) -> list[str]:
        response = api.get("/traces", params={"repository": repository, **params})
        assert response.status_code == 200, response.text
        return [s["trace_id"] for s in response.json()["traces"]]

    newest_first = made[::-1]
    assert listed() == newest_first
    assert listed(status="sealed") == [made[4], made[2], made[0]]
    assert listed(status="open") == [made[3], made[1]]
    assert listed(developer="ann") == [made[4], made[2], made[0]]
    assert listed(developer="ann", status="open") == []
    assert listed(developer="nobody") == []
    assert api.get("/traces", params={"repository": repository + "x"}).json()["traces"] == []

    summaries = {
        s["trace_id"]: s
        for s in api.get("/traces", params={"repository": repository}).json()["traces"]
    }
    assert [summaries[t]["events"] for t in made] == [1, 2, 3, 4, 5]
    assert [summaries[t]["developer_id"] for t in made] == ["ann", "bob", "ann", "cy", "ann"]
    assert all(summaries[t]["commit"] == "3f2a9c1d" for t in made)
    assert [bool(summaries[t].get("sealed_at")) for t in made] == [True, False, True, False, True]

    # Created range: after is inclusive, before exclusive.
    created = [summaries[t]["created_at"] for t in made]
    assert created == sorted(created)
    assert listed(created_after=created[2]) == [made[4], made[3], made[2]]
    assert listed(created_before=created[2]) == [made[1], made[0]]
    assert listed(created_after=created[1], created_before=created[4]) == [
        made[3],
        made[2],
        made[1],
    ]
    # At each trace's own shown time exactly (the stored time must be that time).
    for i, trace_id in enumerate(made):
        assert listed(created_after=created[i])[-1] == trace_id
        assert trace_id not in listed(created_before=created[i])
        assert listed(created_after=created[i], created_before=created[i]) == []

    # limit + cursor paging: every trace once, newest first.
    pages, cursor = [], None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        body = api.get("/traces", params={"repository": repository, **params}).json()
        assert len(body["traces"]) <= 2
        pages.append([s["trace_id"] for s in body["traces"]])
        cursor = body["next_cursor"]
        if cursor is None:
            break
        assert len(pages) < 10
    assert pages[:3] == [newest_first[0:2], newest_first[2:4], newest_first[4:5]]
    assert [t for page in pages for t in page] == newest_first

    with Client(server.url, server.api_token) as client:
        assert [
            s.trace_id for s in client.iter_traces(repository=repository, limit=3)
        ] == newest_first


def test_list_events_by_type_after_and_limit(
    server: ServerProcess, api: httpx.Client, session: Session
) -> None:
    trace_id, token = create(api)
    for seq, batch in enumerate(session.batches):
        assert upload(server, trace_id, token, seq, batch).status_code == 200
    everything = as_json(session.events)
    url = f"/traces/{trace_id}/events"

    assert stored_events(api, trace_id) == everything

    edits = api.get(url, params={"type": "edit"}).json()
    assert edits["events"] == [e for e in everything if e["type"] == "edit"]
    assert len(edits["events"]) >= 3
    both = [e for e in everything if e["type"] in ("edit", "thought")]
    assert api.get(url, params={"type": "edit,thought"}).json()["events"] == both
    assert api.get(url, params=[("type", "edit"), ("type", "thought")]).json()["events"] == both
    assert api.get(url, params={"type": "pr_opened"}).json()["events"] == [
        e for e in everything if e["type"] == "pr_opened"
    ]

    pivot = everything[7]["id"]
    assert api.get(url, params={"after": pivot}).json()["events"] == everything[8:]
    assert api.get(url, params={"after": everything[-1]["id"]}).json() == {
        "events": [],
        "next_after": None,
    }
    assert api.get(url, params={"after": pivot, "type": "thought"}).json()["events"] == [
        e for e in everything[8:] if e["type"] == "thought"
    ]

    # Paging with limit and next_after gives every event once, in order.
    for limit in (1, 4, 7):
        seen, after = [], None
        while True:
            params: dict[str, Any] = {"limit": limit}
            if after:
                params["after"] = after
            page = api.get(url, params=params).json()
            assert len(page["events"]) <= limit
            seen.extend(page["events"])
            after = page["next_after"]
            if after is None:
                break
            assert after == page["events"][-1]["id"]
            assert len(seen) <= len(everything)
        assert seen == everything, limit

    with Client(server.url, server.api_token) as client:
        assert list(client.iter_events(trace_id, page_size=5)) == session.events
        assert list(client.iter_events(trace_id, type="thought", page_size=2)) == [
            e for e in session.events if isinstance(e, ev.Thought)
        ]


def test_export_streams_jsonl_oldest_first(
    server: ServerProcess, api: httpx.Client, trace_schema: dict[str, Any]
) -> None:
    repository = unique_repository()
    made = []
    for i in range(3):
        trace_id, token = create(api, repository=repository, developer=f"dev{i}")
        assert upload(server, trace_id, token, 0, thoughts(f"x{i}", i + 2)).status_code == 200
        if i != 1:
            assert (
                httpx.post(
                    f"{server.url}/traces/{trace_id}/finalize", headers=bearer(token)
                ).status_code
                == 200
            )
        made.append(trace_id)

    response = api.get("/export", params={"repository": repository})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/x-ndjson")
    assert response.content.endswith(b"\n")
    lines = response.content.splitlines()
    documents = [json.loads(line) for line in lines]
    assert [d["trace_id"] for d in documents] == made
    for trace_id, line, document in zip(made, lines, documents):
        assert line == api.get(f"/traces/{trace_id}").content
        validate(document, trace_schema)
    assert [len(d["events"]) for d in documents] == [2, 3, 4]

    sealed = api.get("/export", params={"repository": repository, "status": "sealed"})
    assert [json.loads(line)["trace_id"] for line in sealed.content.splitlines()] == [
        made[0],
        made[2],
    ]
    one = api.get("/export", params={"repository": repository, "developer": "dev1"})
    assert [json.loads(line)["trace_id"] for line in one.content.splitlines()] == [made[1]]
    assert api.get("/export", params={"repository": repository, "developer": "none"}).content == b""

    with Client(server.url, server.api_token) as client:
        assert [
            json.loads(line)["trace_id"] for line in client.export(repository=repository)
        ] == made


# --- health, OpenAPI --------------------------------------------------------------------


def test_healthz_and_openapi_need_no_token(server: ServerProcess) -> None:
    health = httpx.get(f"{server.url}/healthz")
    assert health.status_code == 200
    assert health.json() == {
        "status": "ok",
        "version": "0.1.0",
        "database": "sqlite",
        "blobs": "file",
    }

    openapi = httpx.get(f"{server.url}/schema/openapi.json")
    assert openapi.status_code == 200
    spec = openapi.json()
    assert spec["openapi"].startswith("3.")
    assert spec["info"]["title"] == "prtrace"
    paths = spec["paths"]
    for path, method in [
        ("/traces", "post"),
        ("/traces", "get"),
        ("/traces/{trace_id}/events", "post"),
        ("/traces/{trace_id}/events", "get"),
        ("/traces/{trace_id}/finalize", "post"),
        ("/traces/{trace_id}", "get"),
        ("/traces/{trace_id}/qa", "post"),
        ("/export", "get"),
        ("/healthz", "get"),
        ("/jobs/{job_id}", "get"),
    ]:
        assert method in paths.get(path, {}), (path, method, sorted(paths))
    list_params = {p["name"] for p in paths["/traces"]["get"]["parameters"]}
    assert {
        "status",
        "developer",
        "repository",
        "created_after",
        "created_before",
        "limit",
        "cursor",
    } <= list_params


# --- no plaintext token at rest ------------------------------------------------------------


def database_files(home: Path) -> list[Path]:
    files = [home / name for name in ("prtrace.db", "prtrace.db-wal", "prtrace.db-shm")]
    return [f for f in files if f.exists()]


def test_no_plaintext_token_in_database_files_or_log(
    server: ServerProcess, api: httpx.Client
) -> None:
    # Make sure this test has tokens of its own to look for, whatever ran before.
    trace_id, token = create(api)
    assert upload(server, trace_id, token, 0, thoughts("tok", 2)).status_code == 200
    assert (
        httpx.post(f"{server.url}/traces/{trace_id}/finalize", headers=bearer(token)).status_code
        == 200
    )
    upload(server, trace_id, token[:-2] + "zz", 1, [])  # a refused attempt, too
    secrets = [server.api_token, *ISSUED_UPLOAD_TOKENS]
    assert len(set(secrets)) == len(secrets)

    def scan() -> None:
        files = [*database_files(server.home), server.log_path]
        names = {f.name for f in files}
        assert {"prtrace.db", "server.log"} <= names
        contents = {f.name: f.read_bytes() for f in files}
        everything = b"".join(contents.values())
        for secret in secrets:
            plain = secret.encode()
            assert plain not in everything, "a plaintext token is stored"
            # Nor its secret part without the prefix.
            assert plain[4:] not in everything
        # The scan reads the right bytes: the tokens' hashes are there.
        database = b"".join(v for k, v in contents.items() if k.startswith("prtrace.db"))
        assert text_hash(token).encode() in database
        assert text_hash(server.api_token).encode() in database

    # While the server runs (the WAL holds the latest writes)...
    assert (server.home / "prtrace.db-wal").exists()
    scan()
    # ...and after it stopped (everything checkpointed into prtrace.db).
    server.stop()
    try:
        scan()
    finally:
        server.start()
    assert len(stored_events(api, trace_id)) == 2
