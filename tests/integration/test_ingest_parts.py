"""Large batches stored part by part on a real PostgreSQL (issue 15).

With decoder processes, the server validates and redacts a large batch in parts
and writes each part with ``COPY`` while the next is decoded
(``BatchDecoder.parts``, ``TraceStore.append_parts``). That path must be invisible:
every answer — accepted, duplicate, 409, each 4xx naming the same field — and every
stored byte must be what the whole-batch path gives. So each scenario runs on two
servers over one database, one decoding in a real process pool and one in process,
and their answers and documents are compared; a spy proves the part path really
stored the batches on the first.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import string
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import httpx
import pytest

from prtrace.backend.ingest import PART_SIZE
from prtrace.backend.storage.traces import TraceStore
from tests.support.app_server import AppServer
from tests.support.bad_input import create_trace, j, thought

pytestmark = pytest.mark.postgres

BATCH = 1000
SECRET = "ghp_" + "".join(random.Random(15).choices(string.ascii_letters + string.digits, k=36))


def big_batch(prefix: str) -> list[dict[str, Any]]:
    """Thoughts, with what each needs a part to handle: a field over the blob
    threshold, a secret, an event in the seed's dialect (translated, no id)."""
    events = [thought(f"{prefix}-{i}", f"note {i}") for i in range(BATCH)]
    events[300] = {
        "type": "terminal_command",
        "id": f"{prefix}-300",
        "t": "2024-05-01T10:00:00Z",
        "session_id": "ses_bad",
        "cmd": "pytest -q",
        "cwd": "/work",
        "exit_code": 1,
        "stdout": "long line of output\n" * 600,  # 12 KB: over the 4 KB threshold
    }
    events[400]["raw"] = f"deploy with {SECRET} now"
    events[600] = {
        "t": "2024-01-15T10:30:15Z",
        "type": "file_opened",
        "session_id": "session-1",
        "file_path": "src/main.go",
        "language": "go",
    }
    return events


class Spy:
    """Counts the batches ``append_parts`` stored (it raises when it hands one back)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.stored = 0
        original = TraceStore.append_parts

        async def counted(store: TraceStore, *args: Any) -> Any:
            result = await original(store, *args)
            self.stored += 1
            return result

        monkeypatch.setattr(TraceStore, "append_parts", counted)


@pytest.fixture
def servers(pg_url: str, tmp_path: Path) -> Iterator[dict[str, AppServer]]:
    """One database, two servers: decoding in a process pool (parts) and in process."""
    env = {"PRTRACE_DATABASE_URL": pg_url, "PRTRACE_BLOB_THRESHOLD": "4096"}
    with (
        AppServer(tmp_path / "parts", env={**env, "PRTRACE_INGEST_PROCESSES": "1"}) as parts,
        AppServer(tmp_path / "whole", env={**env, "PRTRACE_INGEST_PROCESSES": "0"}) as whole,
    ):
        yield {"parts": parts, "whole": whole}


def post(http: httpx.Client, trace_id: str, token: str, body: bytes) -> tuple[int, Any]:
    """The answer's status and JSON, the trace's id in it made the same on each server."""
    answer = http.post(
        f"/traces/{trace_id}/events", content=body, headers={"Authorization": f"Bearer {token}"}
    )
    return answer.status_code, json.loads(answer.text.replace(trace_id, "<trace>"))


def scenario(server: AppServer) -> dict[str, Any]:
    """Every kind of answer a large batch can get, and what ends up stored."""
    out: dict[str, Any] = {}
    with server.http(timeout=120) as http:
        api = {"Authorization": f"Bearer {server.api_token}"}
        trace_id, token = create_trace(http, "parts", server.api_token)
        good = big_batch("e")
        body = j({"seq": 0, "events": good})

        bad_time = [dict(e) for e in good]
        bad_time[700] = {**bad_time[700], "t": "yesterday"}
        out["bad_time"] = post(http, trace_id, token, j({"seq": 0, "events": bad_time}))

        duplicate_id = [dict(e) for e in good]
        duplicate_id[900] = {**duplicate_id[900], "id": "e-10"}
        out["duplicate_id"] = post(http, trace_id, token, j({"seq": 0, "events": duplicate_id}))

        nul_id = [dict(e) for e in good]
        nul_id[500] = {**nul_id[500], "id": "nul\u0000id"}  # PostgreSQL refuses NUL in text
        out["nul_id"] = post(http, trace_id, token, j({"seq": 0, "events": nul_id}))

        not_utf8 = body.replace(b"note 650", b"note \xff50")
        out["not_utf8"] = post(http, trace_id, token, not_utf8)

        out["first"] = post(http, trace_id, token, body)
        out["retry"] = post(http, trace_id, token, body)
        respaced = json.dumps({"seq": 0, "events": good}, indent=1).encode()
        out["retry_respaced"] = post(http, trace_id, token, respaced)
        out["other_events_same_seq"] = post(
            http, trace_id, token, j({"seq": 0, "events": big_batch("f")})
        )
        reused = big_batch("g")
        reused[800] = {**reused[800], "id": "e-5"}
        out["id_of_another_batch"] = post(http, trace_id, token, j({"seq": 1, "events": reused}))
        out["second"] = post(http, trace_id, token, j({"seq": 1, "events": big_batch("h")}))

        http.post(f"/traces/{trace_id}/finalize", headers={"Authorization": f"Bearer {token}"})
        out["after_seal"] = post(http, trace_id, token, j({"seq": 2, "events": big_batch("i")}))

        document = http.get(f"/traces/{trace_id}", headers=api).json()
        out["events"] = document["events"]
    out["batch_hashes"], out["event_rows"] = asyncio.run(stored_rows(server, trace_id))
    return out


async def stored_rows(server: AppServer, trace_id: str) -> tuple[list[tuple], list[tuple]]:
    """As stored: each batch's seq, hash (what a retry is recognised by) and count, and
    every column of every event row but the trace's id."""
    url = server.extra_env["PRTRACE_DATABASE_URL"].replace("+asyncpg", "", 1)
    connection = await asyncpg.connect(url)
    try:
        batches = await connection.fetch(
            "SELECT seq, body_hash, count FROM batches WHERE trace_id = $1 ORDER BY seq", trace_id
        )
        events = await connection.fetch(
            "SELECT seq, idx, event_id, type, t, body, blob_fields FROM events"
            " WHERE trace_id = $1 ORDER BY seq, idx",
            trace_id,
        )
    finally:
        await connection.close()
    return [tuple(row) for row in batches], [tuple(row) for row in events]


def test_part_by_part_stores_and_answers_exactly_as_a_whole_batch(
    servers: dict[str, AppServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert BATCH >= 4 * PART_SIZE, "a batch of several parts"
    spy = Spy(monkeypatch)
    parts = scenario(servers["parts"])
    assert spy.stored == 2, "seq 0 and seq 1 went in part by part"
    whole = scenario(servers["whole"])
    assert spy.stored == 2, "the in-process server never takes the part path"

    for key in parts:
        assert parts[key] == whole[key], key
    for key in ("first", "second"):
        status, answer = parts[key]
        assert status == 200 and answer["accepted"] == BATCH and not answer.get("duplicate")
    assert parts["retry"][1]["duplicate"] and parts["retry_respaced"][1]["duplicate"]

    assert parts["bad_time"][0] == 422 and parts["bad_time"][1]["field"] == "events[700].t"
    assert parts["duplicate_id"][0] == 422
    assert parts["duplicate_id"][1]["field"] == "events[900].id"
    assert "also at events[10]" in parts["duplicate_id"][1]["detail"]
    assert parts["nul_id"][0] == 422 and "NUL" in parts["nul_id"][1]["detail"]
    assert parts["not_utf8"][0] == 400 and "0xff" in parts["not_utf8"][1]["detail"]
    assert parts["other_events_same_seq"][0] == 409
    assert parts["id_of_another_batch"][0] == 422
    assert parts["id_of_another_batch"][1]["field"] == "events[800].id"
    assert parts["after_seal"][0] == 409

    assert [(seq, count) for seq, _, count in parts["batch_hashes"]] == [(0, BATCH), (1, BATCH)]
    rows = parts["event_rows"]
    assert [(seq, idx) for seq, idx, *_ in rows] == [(s, i) for s in (0, 1) for i in range(BATCH)]
    assert rows[300][6] is not None and all(r[6] is None for r in rows[:300]), "one blob"
    assert rows[1][2:5] == ("e-1", "thought", datetime(2024, 5, 1, 10, tzinfo=UTC).timestamp())
    stored = parts["events"]
    assert len(stored) == 2 * BATCH, "the refused batches left nothing behind"
    assert [e.get("id") for e in stored[:3]] == ["e-0", "e-1", "e-2"]
    assert stored[300]["stdout"] == "long line of output\n" * 600, "restored from its blob"
    assert SECRET not in json.dumps(stored) and "<redacted:" in stored[400]["raw"]
    assert stored[600]["type"] == "file_opened" and stored[600]["path"] == "src/main.go"
    assert stored[BATCH + 999]["id"] == "h-999"


def test_the_same_batch_sent_at_once_is_stored_once(
    servers: dict[str, AppServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Four uploads of one seq race (a client retrying on timeouts): the trace's lock
    makes them take turns; one stores the batch, the others see it stored."""
    spy = Spy(monkeypatch)
    server = servers["parts"]
    with server.http(timeout=120) as http:
        trace_id, token = create_trace(http, "race", server.api_token)
        body = j({"seq": 0, "events": big_batch("r")})
        answers: list[tuple[int, Any]] = []
        threads = [
            threading.Thread(target=lambda: answers.append(post(http, trace_id, token, body)))
            for _ in range(4)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        api = {"Authorization": f"Bearer {server.api_token}"}
        count = http.get(f"/traces/{trace_id}", headers=api).json()["events"]
    assert sorted(status for status, _ in answers) == [200] * 4
    assert sorted(bool(a.get("duplicate")) for _, a in answers) == [False, True, True, True]
    assert len(count) == BATCH and spy.stored == 1


def test_uploads_go_on_when_a_decoder_process_is_killed(servers: dict[str, AppServer]) -> None:
    """The OOM killer takes the decoder: the batch in flight and every later one are
    still stored (decoded in the server meanwhile, then by the decoder started again)."""
    server = servers["parts"]
    pool = server.app_state().services.decoder._pool
    with server.http(timeout=120) as http:
        trace_id, token = create_trace(http, "killed", server.api_token)
        assert post(http, trace_id, token, j({"seq": 0, "events": big_batch("a")}))[0] == 200
        os.kill(pool._workers[0].process.pid, signal.SIGKILL)
        answers = [
            post(http, trace_id, token, j({"seq": seq, "events": big_batch(f"k{seq}")}))
            for seq in range(1, 4)
        ]
        api = {"Authorization": f"Bearer {server.api_token}"}
        stored = http.get(f"/traces/{trace_id}", headers=api).json()["events"]
    assert [status for status, _ in answers] == [200, 200, 200]
    assert [a["accepted"] for _, a in answers] == [BATCH] * 3
    assert len(stored) == 4 * BATCH and stored[-1]["id"] == "k3-999"
    assert "a decoder process ended" in server.log_text()


async def terminate_backends(url: str) -> int:
    """End every other connection to the test's database, as a PostgreSQL restart or
    an idle-session timeout does, and wait until they have ended."""
    connection = await asyncpg.connect(url.replace("+asyncpg", "", 1))
    try:
        return int(
            await connection.fetchval(
                "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid, 10000))"
                " FROM pg_stat_activity WHERE datname = current_database()"
                " AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
            )
        )
    finally:
        await connection.close()


def test_a_connection_the_database_ended_is_replaced_before_the_next_batch(
    servers: dict[str, AppServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The part path's pool of asyncpg connections pings none of them when it hands
    one out (a round trip per batch); a connection the server ended must still never
    be handed out, nor cost the developer's next batch an error."""
    spy = Spy(monkeypatch)
    server = servers["parts"]
    with server.http(timeout=120) as http:
        trace_id, token = create_trace(http, "ended", server.api_token)
        assert post(http, trace_id, token, j({"seq": 0, "events": big_batch("a")}))[0] == 200
        assert asyncio.run(terminate_backends(server.extra_env["PRTRACE_DATABASE_URL"])) >= 1
        status, answer = post(http, trace_id, token, j({"seq": 1, "events": big_batch("b")}))
        assert status == 200, answer
        assert answer["accepted"] == BATCH and not answer.get("duplicate")
        document = http.get(
            f"/traces/{trace_id}", headers={"Authorization": f"Bearer {server.api_token}"}
        ).json()
    assert spy.stored == 2, "both batches went in part by part, on pooled connections"
    assert len(document["events"]) == 2 * BATCH
