"""Storing and reading traces: creation, idempotent batches, finalize, documents.

The hot path is :meth:`TraceStore.append_batch`: events arrive validated (the
route decodes them into :mod:`prtrace.events` types), each is encoded once,
the batch is hashed over those encodings for idempotency, and all rows go in
one transaction. Reading splices the stored JSON of every event into the
document without decoding it (:class:`msgspec.Raw`).
"""

from __future__ import annotations

import functools
import time
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import msgspec
from sqlalchemy import func, select, tuple_, update
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from prtrace import TRACE_FORMAT_VERSION
from prtrace.api_types import (
    BatchAccepted,
    CreateTraceRequest,
    CreateTraceResponse,
    EventBatch,
    FinalizeRequest,
    FinalizeResponse,
    TraceList,
    TraceSummary,
)
from prtrace.backend.auth import UPLOAD_PREFIX, token_hash
from prtrace.backend.errors import ApiError, conflict, not_found
from prtrace.backend.ingest import (
    BatchParts,
    DecodedBatch,
    TakeWholePath,
    batch_hash,
)
from prtrace.backend.jobs.queue import enqueue
from prtrace.backend.storage import queries
from prtrace.backend.storage.blobs import BlobStore, content_key
from prtrace.backend.storage.copy_binary import COPY_COLUMNS, copy_rows
from prtrace.backend.storage.db import Database, batches, events, trace_event_types, traces
from prtrace.backend.storage.export import EventShaper
from prtrace.config import Settings, new_token
from prtrace.events import LARGE_TEXT_FIELDS, Event
from prtrace.ids import new_trace_id
from prtrace.trace import Trace, TraceDialect

_encode = msgspec.json.Encoder().encode
_RawMap = dict[str, msgspec.Raw]
# An ``events`` row: trace_id, seq, index, event_id, type, t, body, blob_fields.
_EventRow = tuple[str, int, int, str, str, float, bytes, bytes | None]
_TOKEN_CACHE_SIZE = 10_000
_EVENT_COLUMNS = [c.name for c in events.columns]
_PG_BATCH = """
WITH trace AS (
    SELECT status FROM traces WHERE trace_id = $1 FOR UPDATE
), prior AS (
    SELECT body_hash FROM batches WHERE trace_id = $1 AND seq = $2
), added AS (
    INSERT INTO batches (trace_id, seq, body_hash, count, created_at)
    SELECT $1, $2, $3, $4, $5 FROM trace
    WHERE trace.status = 'open' AND NOT EXISTS (SELECT 1 FROM prior)
    RETURNING 1
), counted AS (
    UPDATE traces SET event_count = event_count + $4
    WHERE trace_id = $1 AND EXISTS (SELECT 1 FROM added)
    RETURNING 1
), typed AS (
    INSERT INTO trace_event_types (trace_id, type)
    SELECT $1, type FROM unnest($6::varchar[]) AS type WHERE EXISTS (SELECT 1 FROM added)
    ON CONFLICT DO NOTHING
)
SELECT (SELECT status FROM trace), (SELECT body_hash FROM prior),
       EXISTS (SELECT 1 FROM added) AND EXISTS (SELECT 1 FROM counted)
"""
"""The batch's checks and bookkeeping in one round trip (see ``_copy_batch``)."""
_PG_LOCK_TRACE = """
SELECT t.status, (SELECT body_hash FROM batches WHERE trace_id = $1 AND seq = $2)
FROM traces t WHERE t.trace_id = $1 FOR UPDATE OF t
"""
"""A batch stored part by part: the trace locked, and the ``seq`` looked for."""
_PG_ADD_BATCH = """
WITH added AS (
    INSERT INTO batches (trace_id, seq, body_hash, count, created_at)
    VALUES ($1, $2, $3, $4, $5)
), typed AS (
    INSERT INTO trace_event_types (trace_id, type)
    SELECT $1, type FROM unnest($6::varchar[]) AS type
    ON CONFLICT DO NOTHING
)
UPDATE traces SET event_count = event_count + $4 WHERE trace_id = $1
"""
"""…and, its events written, its batch row and the trace's count."""
_event_decoder = msgspec.json.Decoder(Event)


def _iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, tz=UTC).isoformat().replace("+00:00", "Z")


class TraceStore:
    """Every read and write of traces and their events."""

    def __init__(self, db: Database, blobs: BlobStore, settings: Settings) -> None:
        self.db = db
        self.blobs = blobs
        self.threshold = settings.blob_threshold
        self.qa_on_finalize = settings.qa_on_finalize
        self._token_hashes: dict[str, str] = {}

    # --- create ---------------------------------------------------------------

    async def create(
        self, request: CreateTraceRequest, dialect: TraceDialect | None = None
    ) -> CreateTraceResponse:
        trace_id = new_trace_id()
        upload_token = new_token(UPLOAD_PREFIX)
        # Whole microseconds, as the API shows it: the stored float must equal
        # what ``created_after``/``created_before`` parse from a shown time.
        now = round(time.time(), 6)
        meta: dict[str, Any] = {
            "created_at": _iso(now),
            "developer": request.developer,
            "task": request.task,
            "environment": request.environment,
        }
        if dialect is not None:  # created in the seed's dialect: what reading it back needs
            meta["dialect"] = dialect
        async with self.db.write() as conn:
            await conn.execute(
                traces.insert().values(
                    trace_id=trace_id,
                    created_at=now,
                    status="open",
                    developer_id=request.developer.id,
                    repository=request.task.repository,
                    commit=request.task.commit,
                    meta=_encode(meta),
                    upload_token_hash=token_hash(upload_token),
                    event_count=0,
                    qa_status="none",
                )
            )
        return CreateTraceResponse(trace_id=trace_id, upload_token=upload_token)

    async def upload_token_hash(self, trace_id: str) -> str | None:
        """The trace's upload token hash; cached, since it never changes."""
        cached = self._token_hashes.get(trace_id)
        if cached is not None:
            return cached
        async with self.db.read() as conn:
            row = await conn.execute(
                select(traces.c.upload_token_hash).where(traces.c.trace_id == trace_id)
            )
            found = row.first()
        if found is None:
            return None
        if len(self._token_hashes) >= _TOKEN_CACHE_SIZE:
            self._token_hashes.pop(next(iter(self._token_hashes)))
        self._token_hashes[trace_id] = found[0]
        return found[0]

    # --- ingest ---------------------------------------------------------------

    async def append_batch(
        self, trace_id: str, batch: EventBatch, raw: list[bytes] | None = None
    ) -> BatchAccepted:
        """Store a batch of Structs (``raw``: each event's JSON, if known already)."""
        return await self.append_decoded(trace_id, DecodedBatch.from_events(batch, raw))

    async def append_decoded(self, trace_id: str, batch: DecodedBatch) -> BatchAccepted:
        """Store a validated batch atomically: all of it, or (on any error) none of it."""
        body_hash = batch_hash(batch.raw)
        _check_unique_ids(batch.ids)
        rows = await self._rows(trace_id, batch)
        try:
            if self.db.is_sqlite:
                insert = functools.partial(self._insert_batch, trace_id, batch.seq, body_hash, rows)
                stored = await self.db.run_write(insert)
            else:
                stored = await self._copy_batch(trace_id, batch.seq, body_hash, rows)
        except (IntegrityError, asyncpg.IntegrityConstraintViolationError):
            return await self._after_integrity_error(trace_id, batch, body_hash)
        if stored is not None:  # this seq was stored before: a retry, or a conflict
            async with self.db.read() as conn:
                return await self._retry(conn, trace_id, batch, stored, body_hash)
        return BatchAccepted(trace_id=trace_id, seq=batch.seq, accepted=len(rows))

    async def append_parts(self, trace_id: str, parts: BatchParts) -> BatchAccepted:
        """:meth:`append_decoded` for a batch still being decoded, on PostgreSQL: each
        part goes in with ``COPY`` as soon as it is ready, while the next is decoded;
        one transaction, the trace locked throughout, as for a whole batch.

        Raises :class:`TakeWholePath`, having written nothing, for any batch that
        is not plainly new and valid (a part refused, an id reused in it or before,
        its ``seq`` stored before, the trace sealed or missing): stored whole, it
        gets the answer a whole batch gets, errors in the same order.
        """
        try:
            async with self.db.asyncpg_transaction() as conn:
                found = await conn.fetchrow(_PG_LOCK_TRACE, trace_id, parts.seq)
                if found is None or found[0] != "open" or found[1] is not None:
                    raise TakeWholePath
                async for rows in parts.rows(functools.partial(self._copy_rows, trace_id)):
                    await conn.copy_to_table(
                        "events",  # a memoryview: asyncpg takes bytes for a file's path
                        source=memoryview(rows),
                        columns=COPY_COLUMNS,
                        format="binary",
                    )
                await conn.execute(
                    _PG_ADD_BATCH,
                    trace_id,
                    parts.seq,
                    parts.batch_hash(),
                    parts.count,
                    time.time(),
                    parts.types(),
                )
        except asyncpg.IntegrityConstraintViolationError:  # an id reused, here or before
            raise TakeWholePath from None
        finally:
            parts.close()
        return BatchAccepted(trace_id=trace_id, seq=parts.seq, accepted=parts.count)

    def _insert_batch(
        self, trace_id: str, seq: int, body_hash: str, rows: list[tuple], conn: Connection
    ) -> str | None:
        """The batch's whole write transaction, run by :meth:`Database.run_write`.

        Returns the stored hash when ``seq`` is taken already (nothing written).
        """
        stored_hash = (
            select(batches.c.body_hash)
            .where(batches.c.trace_id == trace_id, batches.c.seq == seq)
            .scalar_subquery()
        )
        # FOR UPDATE: a finalize committing on another replica meanwhile is
        # waited for and seen, so no batch lands in a trace after it was sealed.
        found = conn.execute(
            select(traces.c.status, stored_hash)
            .where(traces.c.trace_id == trace_id)
            .with_for_update(of=traces)
        ).first()
        if found is None:
            raise not_found(f"trace {trace_id}")
        status, stored = found
        if stored is not None:
            return stored
        if status != "open":
            raise conflict(f"trace {trace_id} is sealed: no more events can be added")
        conn.execute(
            batches.insert().values(
                trace_id=trace_id,
                seq=seq,
                body_hash=body_hash,
                count=len(rows),
                created_at=time.time(),
            )
        )
        if rows:
            self.db.insert_many(conn, events, rows)
            conn.execute(
                sqlite_insert(trace_event_types).on_conflict_do_nothing(),
                [{"trace_id": trace_id, "type": tag} for tag in _types_of(rows)],
            )
            conn.execute(
                update(traces)
                .where(traces.c.trace_id == trace_id)
                .values(event_count=traces.c.event_count + len(rows))
            )
        return None

    async def _copy_batch(
        self, trace_id: str, seq: int, body_hash: str, rows: list[_EventRow]
    ) -> str | None:
        """:meth:`_insert_batch` on PostgreSQL: one statement checks the trace (locked
        ``FOR UPDATE``, so a finalize on another replica is waited for), looks for a
        stored ``seq``, adds the batch row and the trace's count; then the events go in
        with ``COPY``; one transaction. Returns the stored hash when ``seq`` is taken."""
        async with self.db.asyncpg_transaction() as conn:
            found = await conn.fetchrow(
                _PG_BATCH, trace_id, seq, body_hash, len(rows), time.time(), _types_of(rows)
            )
            status, stored, inserted = found
            if status is None:
                raise not_found(f"trace {trace_id}")
            if stored is not None:
                return str(stored)
            if status != "open" or not inserted:
                raise conflict(f"trace {trace_id} is sealed: no more events can be added")
            if rows:
                await conn.copy_records_to_table("events", records=rows, columns=_EVENT_COLUMNS)
        return None

    async def _copy_rows(self, trace_id: str, batch: DecodedBatch) -> bytes:
        """:meth:`_rows` in binary ``COPY`` format (a part of a batch that a decoder
        process could not encode: it has an event over the blob threshold)."""
        rows = await self._rows(trace_id, batch)
        return copy_rows(
            trace_id,
            batch.seq,
            batch.offset,
            batch.ids,
            batch.types,
            batch.times,
            [row[6] for row in rows],
            [row[7] for row in rows],
        )

    async def _rows(self, trace_id: str, batch: DecodedBatch) -> list[_EventRow]:
        """The ``events`` rows, in the table's column order; large fields go to blobs."""
        seq = batch.seq
        rows: list[_EventRow] = [
            (trace_id, seq, idx, event_id, tag, t, body, None)
            for idx, (event_id, tag, t, body) in enumerate(
                zip(batch.ids, batch.types, batch.times, batch.raw, strict=True), batch.offset
            )
        ]
        for i, row in enumerate(rows):
            if len(row[6]) > self.threshold:  # only then can one field be over it
                body, blob_fields = await self._offload(batch.event(i))
                rows[i] = (*row[:6], body, blob_fields)
        return rows

    async def _offload(self, event: Any) -> tuple[bytes, bytes | None]:
        """Move text fields over the threshold to the blob store."""
        moved: dict[str, str] = {}
        for field in LARGE_TEXT_FIELDS:
            value = getattr(event, field, None)
            if isinstance(value, str) and len(value) > self.threshold // 4:
                data = value.encode("utf-8", "surrogatepass")
                if len(data) > self.threshold:
                    key = content_key(data)
                    await self.blobs.put(key, data)
                    moved[field] = key
        if not moved:
            return _encode(event), None
        slim = msgspec.structs.replace(event, **dict.fromkeys(moved, ""))
        return _encode(slim), _encode(moved)

    @staticmethod
    async def _stored_batch_hash(conn: AsyncConnection, trace_id: str, seq: int) -> str | None:
        row = await conn.execute(
            select(batches.c.body_hash).where(batches.c.trace_id == trace_id, batches.c.seq == seq)
        )
        found = row.first()
        return found[0] if found else None

    async def _retry(
        self, conn: AsyncConnection, trace_id: str, batch: DecodedBatch, stored: str, body_hash: str
    ) -> BatchAccepted:
        """A batch with a stored ``seq``: a no-op if it holds the same events, else 409.

        The hash is over the bytes as sent; a retry that re-serialised the same
        events differently (key order, spacing) is recognised by comparing the
        decoded events, which costs something only on this rare path.
        """
        if stored != body_hash and not await self._same_events(conn, trace_id, batch):
            raise conflict(f"batch seq {batch.seq} was already stored with different events", "seq")
        return BatchAccepted(trace_id=trace_id, seq=batch.seq, accepted=0, duplicate=True)

    async def _same_events(self, conn: AsyncConnection, trace_id: str, batch: DecodedBatch) -> bool:
        rows = await conn.execute(
            select(events.c.body, events.c.blob_fields)
            .where(events.c.trace_id == trace_id, events.c.seq == batch.seq)
            .order_by(events.c.idx)
        )
        stored = [_event_decoder.decode(await self._restore(b, f)) for b, f in rows]
        return stored == list(batch.events)

    async def _after_integrity_error(
        self, trace_id: str, batch: DecodedBatch, body_hash: str
    ) -> BatchAccepted:
        """A concurrent request stored the same ``seq`` first, or an event id is reused."""
        async with self.db.read() as conn:
            stored = await self._stored_batch_hash(conn, trace_id, batch.seq)
            if stored is not None:
                return await self._retry(conn, trace_id, batch, stored, body_hash)
            ids = batch.ids
            taken: set[str] = set()
            for chunk in _chunks(ids, 500):
                rows = await conn.execute(
                    select(events.c.event_id).where(
                        events.c.trace_id == trace_id, events.c.event_id.in_(chunk)
                    )
                )
                taken.update(r[0] for r in rows)
        for i, event_id in enumerate(ids):
            if event_id in taken:
                raise ApiError(
                    422, f"event id {event_id!r} is already used in this trace", f"events[{i}].id"
                )
        raise ApiError(409, "the batch conflicts with stored data; retry")

    # --- finalize -------------------------------------------------------------

    async def finalize(self, trace_id: str, request: FinalizeRequest | None) -> FinalizeResponse:
        artifacts = request.artifacts if request and request.artifacts else None
        new_artifacts = _encode(artifacts) if artifacts is not None else None
        job_id = None
        async with self.db.write() as conn:
            # FOR UPDATE: two replicas finalizing the same trace at once (a client
            # retrying on another replica) take turns, so QA is queued once.
            # SQLite has no such clause and needs none (BEGIN IMMEDIATE).
            row = (
                await conn.execute(
                    select(
                        traces.c.status,
                        traces.c.artifacts,
                        traces.c.event_count,
                        traces.c.sealed_at,
                        traces.c.document_key,
                    )
                    .where(traces.c.trace_id == trace_id)
                    .with_for_update()
                )
            ).first()
            if row is None:
                raise not_found(f"trace {trace_id}")
            if row.status == "sealed":
                if new_artifacts is not None and new_artifacts != row.artifacts:
                    raise conflict(
                        f"trace {trace_id} is already sealed with other artifacts", "artifacts"
                    )
                sealed_before = True
            else:
                sealed_before = False
                sealed_at = time.time()
                await conn.execute(
                    update(traces)
                    .where(traces.c.trace_id == trace_id)
                    .values(status="sealed", sealed_at=sealed_at, artifacts=new_artifacts)
                )
                if self.qa_on_finalize:
                    job_id = await _enqueue_qa(conn, trace_id)
        if sealed_before:
            # A retry; if the first attempt's process died between its commit and
            # archiving the document, archive it now.
            if row.document_key is None:
                await self.write_sealed_document(trace_id)
            return FinalizeResponse(
                trace_id=trace_id,
                status="sealed",
                events=row.event_count,
                sealed_at=datetime.fromtimestamp(row.sealed_at, tz=UTC),
            )
        await self.write_sealed_document(trace_id)
        return FinalizeResponse(
            trace_id=trace_id,
            status="sealed",
            events=row.event_count,
            sealed_at=datetime.fromtimestamp(sealed_at, tz=UTC),
            qa_job_id=job_id,
        )

    async def queue_qa(self, trace_id: str) -> str:
        async with self.db.write() as conn:
            await self._trace_row(conn, trace_id)
            return await _enqueue_qa(conn, trace_id)

    async def write_sealed_document(self, trace_id: str) -> None:
        """Archive the sealed document (without ``qa``) in the blob store."""
        key = f"traces/{trace_id}.json"
        async with self.db.read() as conn:
            row = await self._trace_row(conn, trace_id)
            body = await self._document_without_qa(conn, row)
        await self.blobs.put(key, body)
        async with self.db.write() as conn:
            await conn.execute(
                update(traces).where(traces.c.trace_id == trace_id).values(document_key=key)
            )

    # --- read -----------------------------------------------------------------

    async def document(self, trace_id: str) -> bytes:
        """The whole trace document as JSON bytes, ``qa`` always current."""
        async with self.db.read() as conn:
            row = await self._trace_row(conn, trace_id)
            if row.document_key:
                body = await self.blobs.get(row.document_key)
            else:
                body = await self._document_without_qa(conn, row)
        return _splice_qa(body, row)

    async def load(self, trace_id: str) -> Trace:
        """The trace document decoded (for jobs that work on a trace)."""
        return msgspec.json.decode(await self.document(trace_id), type=Trace)

    @staticmethod
    async def _trace_row(conn: AsyncConnection, trace_id: str) -> Any:
        row = (await conn.execute(select(traces).where(traces.c.trace_id == trace_id))).first()
        if row is None:
            raise not_found(f"trace {trace_id}")
        return row

    async def _document_without_qa(
        self, conn: AsyncConnection, row: Any, shape: EventShaper | None = None
    ) -> bytes:
        meta = msgspec.json.decode(row.meta, type=_RawMap)
        query = select(events.c.body, events.c.blob_fields).where(events.c.trace_id == row.trace_id)
        if shape is not None and shape.types:
            query = query.where(events.c.type.in_(shape.types))
        result = await conn.execute(query.order_by(events.c.seq, events.c.idx))
        bodies = [await self._restore(body, blob_fields) for body, blob_fields in result]
        if shape is not None:
            bodies = [shape.event(body) for body in bodies]
        doc: dict[str, Any] = {
            "trace_id": row.trace_id,
            "created_at": meta["created_at"],
            "version": TRACE_FORMAT_VERSION,
            "status": row.status,
        }
        if row.sealed_at is not None:
            doc["sealed_at"] = _iso(row.sealed_at)
        doc["developer"] = meta["developer"]
        doc["task"] = meta["task"]
        doc["environment"] = meta["environment"]
        doc["events"] = msgspec.Raw(b"[" + b",".join(bodies) + b"]")
        doc["artifacts"] = msgspec.Raw(row.artifacts or b"{}")
        if "dialect" in meta:
            doc["dialect"] = meta["dialect"]
        return _encode(doc)

    async def _restore(self, body: bytes, blob_fields: bytes | None) -> bytes:
        if blob_fields is None:
            return body
        event = msgspec.json.decode(body)
        for field, key in msgspec.json.decode(blob_fields).items():
            event[field] = (await self.blobs.get(key)).decode("utf-8", "surrogatepass")
        return _encode(event)

    async def list_events(
        self, trace_id: str, filters: queries.EventFilters, after: str | None, limit: int
    ) -> bytes:
        async with self.db.read() as conn:
            await self._trace_row(conn, trace_id)
            query = select(events.c.body, events.c.blob_fields, events.c.event_id).where(
                events.c.trace_id == trace_id
            )
            query = queries.apply_events(query, filters, is_sqlite=self.db.is_sqlite)
            if after:
                position = (
                    await conn.execute(
                        select(events.c.seq, events.c.idx).where(
                            events.c.trace_id == trace_id, events.c.event_id == after
                        )
                    )
                ).first()
                if position is None:
                    raise ApiError(422, f"no event with id {after!r} in this trace", "after")
                query = query.where(tuple_(events.c.seq, events.c.idx) > tuple_(*position))
            query = query.order_by(events.c.seq, events.c.idx).limit(limit + 1)
            rows = (await conn.execute(query)).all()
        more = len(rows) > limit
        rows = rows[:limit]
        bodies = [await self._restore(r.body, r.blob_fields) for r in rows]
        next_after = rows[-1].event_id if more else None
        return _encode(
            {"events": msgspec.Raw(b"[" + b",".join(bodies) + b"]"), "next_after": next_after}
        )

    async def list_traces(self, filters: queries.TraceFilters) -> TraceList:
        query = queries.page(
            queries.apply(select(traces), filters, is_sqlite=self.db.is_sqlite), filters
        )
        async with self.db.read() as conn:
            rows = (await conn.execute(query)).all()
        summaries = [_summary(r) for r in rows]
        return TraceList(traces=summaries, next_cursor=queries.next_cursor(rows, filters))

    async def iter_documents(
        self, filters: queries.TraceFilters, shape: EventShaper | None = None
    ) -> AsyncIterator[bytes]:
        """Every matching document, oldest first, one at a time (constant memory).

        ``shape`` (see :mod:`prtrace.backend.storage.export`) picks the event types to keep
        and rewrites events on the way out; the document is then built from
        the rows rather than read from its sealed copy.
        """
        last = ""
        while True:
            query = (
                queries.apply(select(traces.c.trace_id), filters, is_sqlite=self.db.is_sqlite)
                .where(traces.c.trace_id > last)
                .order_by(traces.c.trace_id)
                .limit(200)
            )
            async with self.db.read() as conn:
                ids = [r[0] for r in await conn.execute(query)]
            for trace_id in ids:
                if shape is None:
                    yield await self.document(trace_id)
                else:
                    yield await self._shaped_document(trace_id, shape)
            if len(ids) < 200:
                return
            last = ids[-1]

    async def _shaped_document(self, trace_id: str, shape: EventShaper) -> bytes:
        async with self.db.read() as conn:
            row = await self._trace_row(conn, trace_id)
            body = await self._document_without_qa(conn, row, shape)
        return _splice_qa(body, row)

    async def count(self) -> int:
        async with self.db.read() as conn:
            return (await conn.execute(select(func.count()).select_from(traces))).scalar_one()


def _splice_qa(body: bytes, row: Any) -> bytes:
    """Append the current ``qa`` to a stored document (which ends with ``}``)."""
    qa: dict[str, Any] = {"status": row.qa_status}
    if row.qa_tests:
        qa["tests"] = msgspec.Raw(row.qa_tests)
    if row.qa_judge:
        qa["judge"] = msgspec.Raw(row.qa_judge)
    if row.qa_updated_at:
        qa["updated_at"] = _iso(row.qa_updated_at)
    return body[:-1] + b',"qa":' + _encode(qa) + b"}"


async def _enqueue_qa(conn: AsyncConnection, trace_id: str) -> str:
    job_id = await enqueue(conn, "qa", trace_id=trace_id)
    await conn.execute(
        update(traces).where(traces.c.trace_id == trace_id).values(qa_status="queued")
    )
    return job_id


def _summary(row: Any) -> TraceSummary:
    return TraceSummary(
        trace_id=row.trace_id,
        created_at=datetime.fromtimestamp(row.created_at, tz=UTC),
        status=row.status,
        developer_id=row.developer_id,
        repository=row.repository,
        commit=row.commit,
        events=row.event_count,
        sealed_at=datetime.fromtimestamp(row.sealed_at, tz=UTC) if row.sealed_at else None,
        qa_status=row.qa_status,
        verdict=row.verdict,
        overall=row.overall,
    )


def _types_of(rows: list[_EventRow]) -> list[str]:
    """The event types among a batch's rows (their ``type`` column), each once."""
    return sorted({row[4] for row in rows})


def _check_unique_ids(ids: Sequence[str]) -> None:
    seen: dict[str, int] = {}
    for i, event_id in enumerate(ids):
        first = seen.setdefault(event_id, i)
        if first != i:
            raise ApiError(
                422, f"duplicate event id {event_id!r} (also at events[{first}])", f"events[{i}].id"
            )


def _chunks(items: list[str], size: int) -> list[list[str]]:
    return [items[i : i + size] for i in range(0, len(items), size)]
