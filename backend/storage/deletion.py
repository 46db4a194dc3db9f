"""Deleting a trace everywhere: rows, sealed document, QA logs, and the blobs only it used.

``DELETE /traces/{id}`` (docs/privacy.md) is what a developer's "remove my
trace" needs to mean: after it, nothing of the trace is left in the database
(trace, events, batches, jobs, judgements) or in the blob store. Large event
fields are content-addressed (``sha256/…``) and so may be shared with other
traces that stored the same bytes: such a blob is deleted only when no other
trace's events reference it, checked again after the delete so that a
concurrent upload that started referencing it meanwhile gets it back.
"""

from __future__ import annotations

import msgspec
from sqlalchemy import delete, func, select

from prtrace.api_types import TraceDeleted
from prtrace.backend.errors import not_found
from prtrace.backend.storage.blobs import BlobNotFound, BlobStore
from prtrace.backend.storage.db import (
    Database,
    batches,
    events,
    jobs,
    judgements,
    trace_event_types,
    traces,
)


async def delete_trace(db: Database, blobs: BlobStore, trace_id: str) -> TraceDeleted:
    async with db.write() as conn:
        row = (
            await conn.execute(
                select(traces.c.document_key).where(traces.c.trace_id == trace_id).with_for_update()
            )
        ).first()
        if row is None:
            raise not_found(f"trace {trace_id}")
        content_keys: set[str] = set()
        for (fields,) in await conn.execute(
            select(events.c.blob_fields).where(
                events.c.trace_id == trace_id, events.c.blob_fields.is_not(None)
            )
        ):
            content_keys.update(msgspec.json.decode(fields, type=dict[str, str]).values())
        counts = {}
        for name, table in (
            ("events", events),
            ("batches", batches),
            ("jobs", jobs),
            ("judgements", judgements),
        ):
            counts[name] = (
                await conn.execute(
                    select(func.count()).select_from(table).where(table.c.trace_id == trace_id)
                )
            ).scalar_one()
            await conn.execute(delete(table).where(table.c.trace_id == trace_id))
        await conn.execute(
            delete(trace_event_types).where(trace_event_types.c.trace_id == trace_id)
        )
        await conn.execute(delete(traces).where(traces.c.trace_id == trace_id))
    deleted = kept = 0
    if row.document_key:
        await blobs.delete(row.document_key)
        deleted += 1
    deleted += await blobs.delete_prefix(f"qa/{trace_id}")
    for key in sorted(content_keys):
        if await _referenced(db, key):
            kept += 1
            continue
        try:
            data = await blobs.get(key)
        except BlobNotFound:
            continue
        await blobs.delete(key)
        if await _referenced(db, key):  # an upload took it up meanwhile: give it back
            await blobs.put(key, data)
            kept += 1
        else:
            deleted += 1
    return TraceDeleted(trace_id=trace_id, blobs_deleted=deleted, blobs_kept=kept, **counts)


async def _referenced(db: Database, key: str) -> bool:
    """Does any (other) trace's event keep a field in blob ``key``?"""
    async with db.read() as conn:
        if db.is_sqlite:
            contains = func.instr(events.c.blob_fields, key.encode()) > 0
        else:
            contains = func.strpos(func.encode(events.c.blob_fields, "escape"), key) > 0
        found = await conn.execute(
            select(events.c.trace_id).where(events.c.blob_fields.is_not(None), contains).limit(1)
        )
        return found.first() is not None
