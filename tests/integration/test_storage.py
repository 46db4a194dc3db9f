"""TraceStore on every storage combination: SQLite/PostgreSQL × folder/S3."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import msgspec
import pytest

from prtrace.api_types import CreateTraceRequest, EventBatch, FinalizeRequest
from prtrace.backend.errors import ApiError
from prtrace.backend.services import Services
from prtrace.backend.storage.queries import EventFilters, TraceFilters
from prtrace.events import TerminalCommand, Thought
from prtrace.trace import Artifacts, Developer, Task, Trace

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def thoughts(start: int, count: int) -> list:
    return [
        Thought(
            id=f"e{i}", t=T0 + timedelta(seconds=i), session_id="s1", raw=f"note {i}", tags=["x"]
        )
        for i in range(start, start + count)
    ]


async def new_trace(svc: Services, developer: str = "alice", repository: str = "repo") -> str:
    request = CreateTraceRequest(
        developer=Developer(id=developer), task=Task(repository=repository, commit="abc1234")
    )
    return (await svc.traces.create(request)).trace_id


async def test_round_trip_with_large_output_in_blob_store(services: Services) -> None:
    trace_id = await new_trace(services)
    big = "line of output\n" * 20_000  # ~300 KB, over the 64 KiB threshold
    command = TerminalCommand(
        id="cmd", t=T0, session_id="s1", cmd="pytest", exit_code=1, stdout=big, stderr="err"
    )
    await services.traces.append_batch(trace_id, EventBatch(seq=0, events=thoughts(0, 3)))
    await services.traces.append_batch(trace_id, EventBatch(seq=1, events=[command]))
    await services.traces.append_batch(trace_id, EventBatch(seq=2, events=thoughts(3, 2)))
    final = FinalizeRequest(artifacts=Artifacts(final_patch="diff --git a/x b/x\n"))
    result = await services.traces.finalize(trace_id, final)
    assert result.status == "sealed" and result.events == 6

    trace = msgspec.json.decode(await services.traces.document(trace_id), type=Trace)
    assert [e.id for e in trace.events] == ["e0", "e1", "e2", "cmd", "e3", "e4"]
    assert trace.events[3].stdout == big and trace.events[3].stderr == "err"
    assert trace.artifacts.final_patch == "diff --git a/x b/x\n"
    assert trace.status == "sealed" and trace.qa.status == "none"
    # the big output really lives in the blob store, and so does the sealed document
    from prtrace.backend.storage.blobs import content_key

    assert await services.blobs.exists(content_key(big.encode()))
    assert await services.blobs.exists(f"traces/{trace_id}.json")


async def test_sealed_document_is_served_from_the_blob_store(services: Services) -> None:
    trace_id = await new_trace(services)
    await services.traces.append_batch(trace_id, EventBatch(seq=0, events=thoughts(0, 2)))
    await services.traces.finalize(trace_id, None)
    stored = await services.blobs.get(f"traces/{trace_id}.json")
    await services.blobs.put(f"traces/{trace_id}.json", stored.replace(b"note 1", b"NOTE 1"))
    trace = msgspec.json.decode(await services.traces.document(trace_id), type=Trace)
    assert trace.events[1].raw == "NOTE 1"


async def test_retry_is_a_no_op_and_a_changed_batch_conflicts(services: Services) -> None:
    trace_id = await new_trace(services)
    first = await services.traces.append_batch(trace_id, EventBatch(seq=7, events=thoughts(0, 4)))
    again = await services.traces.append_batch(trace_id, EventBatch(seq=7, events=thoughts(0, 4)))
    assert (first.accepted, first.duplicate) == (4, False)
    assert (again.accepted, again.duplicate) == (0, True)
    with pytest.raises(ApiError) as err:
        await services.traces.append_batch(trace_id, EventBatch(seq=7, events=thoughts(0, 3)))
    assert err.value.status_code == 409 and err.value.field == "seq"
    trace = msgspec.json.decode(await services.traces.document(trace_id), type=Trace)
    assert len(trace.events) == 4


async def test_retry_serialised_differently_is_still_a_duplicate(services: Services) -> None:
    from prtrace.backend.ingest import decode_batch

    trace_id = await new_trace(services)
    events = thoughts(0, 3)
    compact = msgspec.json.encode({"seq": 0, "events": events})
    spaced = msgspec.json.encode(
        {"seq": 0, "events": [msgspec.to_builtins(e) for e in reversed(events)]}
    )
    spaced = b'{"events": ' + spaced.split(b'"events":', 1)[1][:-1] + b', "seq": 0}'
    first = decode_batch(compact)
    await services.traces.append_batch(trace_id, EventBatch(seq=0, events=first.events), first.raw)
    reordered = decode_batch(spaced)  # same seq, the events in another order: a conflict
    with pytest.raises(ApiError):
        await services.traces.append_batch(
            trace_id, EventBatch(seq=0, events=reordered.events), reordered.raw
        )
    pretty = decode_batch(msgspec.json.format(compact, indent=2))  # same events, other bytes
    again = await services.traces.append_batch(
        trace_id, EventBatch(seq=0, events=pretty.events), pretty.raw
    )
    assert again.duplicate and again.accepted == 0


async def test_reused_event_id_rejects_the_whole_batch(services: Services) -> None:
    trace_id = await new_trace(services)
    await services.traces.append_batch(trace_id, EventBatch(seq=0, events=thoughts(0, 3)))
    with pytest.raises(ApiError) as err:
        await services.traces.append_batch(
            trace_id, EventBatch(seq=1, events=thoughts(3, 2) + thoughts(1, 1))
        )
    assert err.value.status_code == 422 and err.value.field == "events[2].id"
    trace = msgspec.json.decode(await services.traces.document(trace_id), type=Trace)
    assert [e.id for e in trace.events] == ["e0", "e1", "e2"]
    # the rejected seq was not recorded either: it can be sent again, corrected
    ok = await services.traces.append_batch(trace_id, EventBatch(seq=1, events=thoughts(3, 2)))
    assert ok.accepted == 2


async def test_sealed_trace_refuses_events_and_other_artifacts(services: Services) -> None:
    trace_id = await new_trace(services)
    await services.traces.finalize(trace_id, FinalizeRequest(artifacts=Artifacts(final_patch="a")))
    with pytest.raises(ApiError) as err:
        await services.traces.append_batch(trace_id, EventBatch(seq=0, events=thoughts(0, 1)))
    assert err.value.status_code == 409
    again = await services.traces.finalize(
        trace_id, FinalizeRequest(artifacts=Artifacts(final_patch="a"))
    )
    assert again.status == "sealed"
    with pytest.raises(ApiError) as err:
        await services.traces.finalize(
            trace_id, FinalizeRequest(artifacts=Artifacts(final_patch="b"))
        )
    assert err.value.status_code == 409


async def test_list_filters_and_cursor_paging(services: Services) -> None:
    ids = [
        await new_trace(services, developer=f"dev{i % 2}", repository=f"r{i % 3}") for i in range(7)
    ]
    await services.traces.finalize(ids[0], None)
    page1 = await services.traces.list_traces(TraceFilters(limit=3))
    page2 = await services.traces.list_traces(TraceFilters(limit=3, cursor=page1.next_cursor))
    page3 = await services.traces.list_traces(TraceFilters(limit=3, cursor=page2.next_cursor))
    seen = [t.trace_id for page in (page1, page2, page3) for t in page.traces]
    assert seen == list(reversed(ids)) and page3.next_cursor is None
    dev0 = await services.traces.list_traces(TraceFilters(developer="dev0", limit=50))
    assert {t.trace_id for t in dev0.traces} == set(ids[0::2])
    sealed = await services.traces.list_traces(TraceFilters(status="sealed"))
    assert [t.trace_id for t in sealed.traces] == [ids[0]]
    r1 = await services.traces.list_traces(TraceFilters(repository="r1"))
    assert {t.trace_id for t in r1.traces} == {ids[1], ids[4]}
    future = datetime.now(UTC) + timedelta(days=1)
    assert (await services.traces.list_traces(TraceFilters(created_after=future))).traces == []
    assert len((await services.traces.list_traces(TraceFilters(created_before=future))).traces) == 7


async def test_event_listing_by_type_and_after(services: Services) -> None:
    trace_id = await new_trace(services)
    command = TerminalCommand(id="cmd", t=T0, session_id="s1", cmd="ls", exit_code=0)
    await services.traces.append_batch(
        trace_id, EventBatch(seq=0, events=thoughts(0, 3) + [command])
    )
    await services.traces.append_batch(trace_id, EventBatch(seq=1, events=thoughts(3, 3)))
    page = msgspec.json.decode(
        await services.traces.list_events(trace_id, EventFilters(types=["thought"]), "e1", 3)
    )
    assert [e["id"] for e in page["events"]] == ["e2", "e3", "e4"] and page["next_after"] == "e4"
    only = msgspec.json.decode(
        await services.traces.list_events(
            trace_id, EventFilters(types=["terminal_command"]), None, 10
        )
    )
    assert [e["id"] for e in only["events"]] == ["cmd"] and only["next_after"] is None
    with pytest.raises(ApiError) as err:
        await services.traces.list_events(trace_id, EventFilters(), "nope", 10)
    assert err.value.field == "after"


async def test_export_iterates_every_trace_oldest_first(services: Services) -> None:
    ids = [await new_trace(services) for _ in range(5)]
    documents = [
        msgspec.json.decode(d, type=Trace)
        async for d in services.traces.iter_documents(TraceFilters())
    ]
    assert [d.trace_id for d in documents] == ids


async def test_tokens_are_stored_only_as_hashes(services: Services) -> None:
    from sqlalchemy import select

    from prtrace.backend.storage.db import api_tokens, traces

    created = await services.traces.create(
        CreateTraceRequest(developer=Developer(id="a"), task=Task(repository="r", commit="abcd"))
    )
    async with services.db.read() as conn:
        stored = [r[0] for r in await conn.execute(select(traces.c.upload_token_hash))]
        api = [r[0] for r in await conn.execute(select(api_tokens.c.token_hash))]
    assert created.upload_token not in stored and len(stored[0]) == 64
    assert "pta_storage-test" not in api and len(api) == 1
    assert await services.tokens.is_valid("pta_storage-test")
    assert not await services.tokens.is_valid("pta_storage-tesT")
