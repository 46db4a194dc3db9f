"""Decoding an event batch for ingestion: validate every event, keep its bytes.

The body is split into the raw JSON of each event (cheap: msgspec only
scans), then each event is decoded into the trace format on its own so that
an error names ``events[i]…``. An event prtrace's format refuses is tried in the
seed's dialect (:mod:`prtrace.dialects.seed`): translated, it is stored in prtrace's
format, with what it takes to give it back as sent. The raw bytes are what gets stored, after the
same redaction the recorder applies (a safety net for other clients).

Validation and redaction are most of the CPU an upload costs, and they hold
the GIL. :class:`BatchDecoder` runs them in separate processes so that, on a
machine with more than one core, they proceed beside the database writes
instead of taking turns with them. What comes back is only what storing needs:
each event's bytes, id, type and time.

With one uploader there is no other batch to overlap with, so on PostgreSQL a
large batch is decoded in parts (:meth:`BatchDecoder.parts`): the store writes
each part with ``COPY`` as soon as it is ready, while the next ones are decoded,
in one transaction (:meth:`TraceStore.append_parts`). Anything but a plainly new,
valid batch (:class:`TakeWholePath`) is rolled back and taken down the
whole-batch path, which gives every answer — duplicates, 409s, each error's
field — as before. Figures: docs/benchmarks.md.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import msgspec

from prtrace.api_types import MAX_BATCH_EVENTS, EventBatch, RawEventBatch
from prtrace.backend import shared_slots
from prtrace.backend.decoder_pool import DecoderPool, WorkerLost
from prtrace.backend.errors import ApiError
from prtrace.backend.shared_slots import Slot
from prtrace.backend.storage.copy_binary import copy_rows
from prtrace.codec import decode, is_utf8_error, split_msgspec_error, utf8_error
from prtrace.dialects import seed
from prtrace.errors import FormatError
from prtrace.events import EVENT_TYPES, Edit, Event
from prtrace.hashing import is_text_hash
from prtrace.redaction import redact_events_json

_event_decoder = msgspec.json.Decoder(Event)
_encode = msgspec.json.Encoder().encode
_TAGS = {cls: tag for tag, cls in EVENT_TYPES.items()}
"""Each event class → its ``type``, as stored in the ``events.type`` column."""


@dataclass
class DecodedBatch:
    """A validated batch as storing needs it; the events themselves on demand."""

    seq: int
    raw: list[bytes]
    """Each event's JSON as it will be stored (redacted)."""
    ids: list[str]
    types: list[str]
    times: list[float]
    offset: int = 0
    """The index in its batch of the first of these events (a part of a batch: not 0)."""
    _events: list[Any] | None = field(default=None, repr=False)

    @property
    def events(self) -> list[Any]:
        """The events as trace-format Structs (decoded here only when needed)."""
        if self._events is None:
            self._events = [_event_decoder.decode(body) for body in self.raw]
        return self._events

    def event(self, index: int) -> Any:
        if self._events is not None:
            return self._events[index]
        return _event_decoder.decode(self.raw[index])

    @classmethod
    def from_events(
        cls, batch: EventBatch, raw: list[bytes] | None = None, offset: int = 0
    ) -> DecodedBatch:
        """For callers that hold Structs already (tests, tools)."""
        events = list(batch.events)
        return cls(
            seq=batch.seq,
            raw=raw if raw is not None else [_encode(e) for e in events],
            ids=[e.id for e in events],
            types=[str(e.__struct_config__.tag) for e in events],  # every event's tag is a str
            times=[e.t.timestamp() for e in events],
            offset=offset,
            _events=events,
        )


def split_batch(body: bytes) -> RawEventBatch:
    """The batch with each event still as its JSON (cheap: msgspec only scans)."""
    try:
        return decode(body, RawEventBatch)
    except FormatError as exc:
        if exc.field == "events" and f"length <= {MAX_BATCH_EVENTS}" in exc.message:
            # docs/api.md: a batch over the limit is 413, like a body over 32 MiB.
            raise ApiError(
                413, f"a batch holds at most {MAX_BATCH_EVENTS} events", "events"
            ) from None
        raise


def decode_batch(body: bytes) -> DecodedBatch:
    """Raise :class:`FormatError` with the JSON path of the first bad value."""
    batch = split_batch(body)
    return decode_events(batch.seq, [bytes(r) for r in batch.events], body)


def decode_events(seq: int, raw: list[bytes], body: bytes, offset: int = 0) -> DecodedBatch:
    """Validate and redact ``raw``, events ``offset``… of batch ``seq`` (``raw`` is kept,
    with each redacted or translated event replaced). ``body`` is the request's, for the
    byte offset of bad UTF-8."""
    events: list[Any] = []
    decode_one = _event_decoder.decode
    for i, item in enumerate(raw):
        try:
            event = decode_one(item)
        except UnicodeDecodeError:  # msgspec before 0.23
            raise utf8_error(body, f"events[{offset + i}]") from None
        except msgspec.MsgspecError as exc:
            event = _refused_event(exc, item, seq, offset + i, body)
            raw[i] = _encode(event)
        else:
            if type(event) is Edit and event.dialect is None:
                _check_native_hashes(event, offset + i)
        events.append(event)
    _redact(events, raw)
    return DecodedBatch(
        seq=seq,
        raw=raw,
        ids=[e.id for e in events],
        types=[_TAGS[type(e)] for e in events],
        times=[e.t.timestamp() for e in events],
        offset=offset,
        _events=events,
    )


def _refused_event(
    exc: msgspec.MsgspecError, item: bytes, seq: int, index: int, body: bytes
) -> Any:
    """An event prtrace's format refused: translated from the seed's dialect, or the
    error that names what is wrong in it."""
    if is_utf8_error(exc):
        # msgspec.Raw skips strings unchecked; decoding the event finds it. The events
        # before decoded, so the body's first bad byte is in this one: its offset in
        # the body is the one to report.
        raise utf8_error(body, f"events[{index}]") from None
    translated = _seed_event(item, seq, index)
    if translated is not None:
        return translated
    error = split_msgspec_error(exc)
    field_path = f"events[{index}].{error.field}" if error.field else f"events[{index}]"
    raise FormatError(error.message, field_path, syntax=error.syntax) from None


_DELETE_HEX = str.maketrans("", "", "0123456789abcdef")


def _check_native_hashes(event: Edit, index: int) -> None:
    """prtrace's own events carry sha256 edit hashes; only another dialect's may not."""
    before, after = event.before_hash, event.after_hash
    if len(before) == 64 and len(after) == 64 and not (before + after).translate(_DELETE_HEX):
        return  # one table lookup a character: half of what a regex or str.strip costs
    # Which one is wrong, on this rare path only.
    for name in ("before_hash", "after_hash"):
        if not is_text_hash(getattr(event, name)):
            raise FormatError(
                "Expected `str` matching regex '^[0-9a-f]{64}$' (a sha256 of the text)",
                f"events[{index}].{name}",
            )


def _seed_event(item: bytes, seq: int, index: int) -> Any:
    """The event in the seed's dialect (docs/trace-format.md) translated, or None when it
    is not in that dialect. Only an event prtrace's own format refused gets here, so
    native uploads never pay for the check. Errors name the seed's fields."""
    try:
        obj = msgspec.json.decode(item)
    except msgspec.MsgspecError:  # a number out of range, say: prtrace's error says so
        return None
    if not seed.is_seed_event(obj):
        return None
    return seed.event_to_native(obj, seq, index, f"events[{index}]")


def _redact(events: list[Any], raw: list[bytes]) -> None:
    """The safety net for traces from other clients (docs/privacy.md): the recorder's
    redaction again, over the bytes as received. The batch is pre-checked in one scan;
    an event with nothing suspicious is stored as it came; only a changed one is
    re-encoded."""
    for i, redacted in enumerate(redact_events_json(raw)):
        if redacted is not None:
            raw[i] = redacted
            events[i] = _event_decoder.decode(redacted)


PART_SIZE = 250
"""Events per part of a batch decoded in parts (:meth:`BatchDecoder.parts`): small
enough that the last part's write, which nothing overlaps, is short; large enough
that a part's fixed costs (a frame each way, a ``COPY``) stay small:
125 cost the server's process ~15 % more CPU per event for no more speed (measured on
the executor the pool replaced). Parts shrinking towards the end (300, 250, 200, 150,
100), or a short last one (300, 300, 300, 100), made no difference either, measured
batch by batch, taking turns in one run (docs/benchmarks.md)."""


_SMALLEST_EVENT = 64
"""Fewer bytes than any event's JSON takes (id, time, session and type alone)."""


def part_digest(bodies: list[bytes]) -> bytes:
    """A part's share of :func:`batch_hash`: a sha256 over each body and a newline."""
    return hashlib.sha256(b"\n".join(bodies) + b"\n").digest()


def batch_hash(bodies: list[bytes]) -> str:
    """What a retried batch is recognised by: a sha256 over the :func:`part_digest` of
    each :data:`PART_SIZE` events as stored, so that the decoder processes can hash
    the parts they decode and the whole path gets the same answer."""
    return batch_hash_of(
        [part_digest(bodies[i : i + PART_SIZE]) for i in range(0, len(bodies), PART_SIZE)]
    )


def batch_hash_of(digests: list[bytes]) -> str:
    """:func:`batch_hash` from the parts' digests, in order."""
    return hashlib.sha256(b"".join(digests)).hexdigest()


class TakeWholePath(Exception):
    """A batch cannot be stored part by part (a part is refused, an id is reused, its
    ``seq`` was stored, the trace is sealed…): nothing of it was written; decode and
    store it whole, which gives the answer a whole batch gets."""


@dataclass
class _Part:
    """A part sent to a decoder process: its events went in its shared ``slot`` or,
    with none free, through the socket."""

    offset: int
    future: asyncio.Future[Any]
    slot: Slot | None = None
    rows: memoryview | None = None
    """The rows, where the decoder wrote them in the slot."""

    def done(self) -> None:
        """The server is done with the part's slot (its rows are written, or unused)."""
        if self.rows is not None:
            self.rows.release()  # nothing may read the slot once it is lent again
            self.rows = None
        if self.slot is not None:
            self.slot.release()
            self.slot = None


class BatchParts:
    """A batch whose parts are being validated, redacted and turned into ``COPY`` rows
    in the decoder processes.

    The store writes each part's rows as soon as they are ready, while the next
    parts are decoded (:meth:`TraceStore.append_parts`): with one uploader,
    validation and the database work then overlap instead of taking turns. One
    ``COPY`` a part, not one for the batch fed part by part: PostgreSQL holds the
    rows of a binary ``COPY`` until it has 1000 (it counts no bytes in that format)
    and would write them all after the last part arrived.
    """

    def __init__(self, seq: int, count: int, pending: list[_Part]) -> None:
        self.seq = seq
        self.count = count
        self._pending = pending
        self._types: set[str] = set()
        self._digests: list[bytes] = []

    async def rows(self, encode: EncodeRows) -> AsyncIterator[bytes | memoryview]:
        """Each part's rows, one ``COPY`` stream each, in order as they are decoded (a
        view of the part's slot, valid until the next is asked for); a part the
        decoder could not encode (an event over the blob threshold) is ``encode`` d
        here. :class:`TakeWholePath` for a part that was refused."""
        for part in self._pending:
            try:
                result = await part.future
            except WorkerLost:
                raise TakeWholePath from None
            if result is None:
                raise TakeWholePath

            types, rows, digest, events = result
            self._types.update(types)
            self._digests.append(digest)
            if events is not None:
                ids, tags, times, raw = events
                rows = await encode(DecodedBatch(self.seq, raw, ids, tags, times, part.offset))
            elif isinstance(rows, tuple):  # where in the slot the decoder wrote them
                assert part.slot is not None
                rows = part.rows = part.slot.view[rows[0] : rows[0] + rows[1]]
            try:
                yield rows
            finally:
                part.done()

    def types(self) -> list[str]:
        """The event types of the parts :meth:`rows` gave, each once."""
        return sorted(self._types)

    def batch_hash(self) -> str:
        """:func:`batch_hash` of the batch, from the parts' digests."""
        return batch_hash_of(self._digests)

    def close(self) -> None:
        """Drop the parts not yet decoded (the batch went another way); let go of the
        slots (a decoder still working on one keeps it until it answers)."""
        for part in self._pending:
            part.future.cancel()
            part.done()


# --- in other processes ---------------------------------------------------------------


def _decode_in_worker(body: bytes) -> tuple:
    """:func:`decode_batch` in a decoder process: plain, picklable values back.

    Errors come back as values too (exceptions with keyword state do not
    survive pickling faithfully).
    """
    try:
        batch = decode_batch(body)
    except FormatError as exc:
        return ("format", exc.message, exc.field, exc.syntax)
    except ApiError as exc:
        return ("api", exc.status_code, exc.detail, exc.field)
    return ("ok", batch.seq, batch.raw, batch.ids, batch.types, batch.times)


PartAnswer = tuple[list[str], bytes | None, bytes, tuple | None]
"""What a decoder process sends back for a part: its event types (each once), its
rows for ``COPY``, its :func:`part_digest`; and, only when it could not make the
rows, the events (ids, types, times, bodies as stored) for the server to."""

EncodeRows = Callable[[DecodedBatch], Awaitable[bytes]]
"""How the server makes a part's ``COPY`` rows when a decoder could not:
``TraceStore`` moves large fields to the blob store first."""


def _decode_shared_part(
    seq: int,
    start: int,
    slot_size: int,
    lengths: list[int],
    offset: int,
    trace_id: str,
    blob_threshold: int,
) -> tuple[list[str], bytes | tuple[int, int] | None, bytes, tuple | None] | None:
    """:func:`_decode_part_in_worker` of a part the server wrote into a shared slot
    (:mod:`~prtrace.backend.shared_slots`) at ``start``: the events one after the
    other, ``lengths`` long. The rows are written into the slot after them where they
    fit (``(where, length)`` comes back instead of the bytes)."""

    view = shared_slots.slot_view(start, slot_size)
    raw: list[bytes] = []
    pos = 0
    for length in lengths:
        raw.append(view[pos : pos + length].tobytes())
        pos += length
    answer = _decode_part_in_worker(seq, raw, offset, trace_id, blob_threshold)
    if answer is None:
        return None
    types, rows, digest, events = answer
    if rows is None or len(rows) > slot_size - pos:
        return answer
    view[pos : pos + len(rows)] = rows
    return types, (pos, len(rows)), digest, None


def _decode_part_in_worker(
    seq: int, raw: list[bytes], offset: int, trace_id: str, blob_threshold: int
) -> PartAnswer | None:
    """Validate and redact a part of a batch, in a decoder process (the events sent
    through its socket); make its rows for ``COPY`` into ``trace_id``
    (:mod:`~prtrace.backend.storage.copy_binary`).

    None when the part is refused: the whole batch is then decoded again, which
    names the error exactly as a whole decode does. Only what the server lacks comes
    back: not the event ids, whose reuse the table's unique constraint finds (which
    also sends the batch the whole path); the events themselves only when one is
    over the blob threshold (only the server can move its large fields).
    """
    try:
        part = decode_events(seq, raw, b"", offset)
    except (FormatError, ApiError):
        return None
    types, digest = sorted(set(part.types)), part_digest(part.raw)
    if any(len(body) > blob_threshold for body in part.raw):
        return types, None, digest, (part.ids, part.types, part.times, part.raw)
    rows = copy_rows(trace_id, seq, offset, part.ids, part.types, part.times, part.raw)
    return types, rows, digest, None


def _warm_up() -> None:
    """Import and compile everything once, so the first real batch is not slow."""
    decode_batch(b'{"seq": 0, "events": []}')


def default_processes() -> int:
    """One decoder per core beyond the first (the server's own thread has that one)."""
    return max(0, min(4, (os.cpu_count() or 1) - 1))


class BatchDecoder:
    """Decodes batches in ``processes`` worker processes, or inline when 0."""

    def __init__(self, processes: int | None = None) -> None:
        self.processes = default_processes() if processes is None or processes < 0 else processes
        self._pool: DecoderPool | None = None

    async def start(self) -> None:
        """Start the workers now, not on the first upload."""
        if self.processes > 0 and self._pool is None:
            self._pool = DecoderPool(self.processes, warm_up=_warm_up)
            await self._pool.start()

    async def decode(self, body: bytes) -> DecodedBatch:
        if self._pool is None:
            return decode_batch(body)
        try:
            result = await self._pool.submit(_decode_in_worker, body)
        except WorkerLost:  # killed meanwhile (another is starting): decode it here
            return decode_batch(body)
        kind = result[0]
        if kind == "format":
            raise FormatError(result[1], result[2], syntax=result[3])
        if kind == "api":
            raise ApiError(result[1], result[2], result[3])
        _, seq, raw, ids, types, times = result
        return DecodedBatch(seq=seq, raw=raw, ids=ids, types=types, times=times)

    def parts(self, body: bytes, trace_id: str, blob_threshold: int) -> BatchParts | None:
        """Start decoding the batch in parts (and encoding their rows for ``COPY``
        into ``trace_id``), or None where that cannot help: no decoder process, a
        small batch, or a body that does not even split (the whole decode then says
        why)."""
        if self._pool is None or len(body) < 2 * PART_SIZE * _SMALLEST_EVENT:
            return None  # fewer than two parts' worth of events, surely
        try:
            batch = split_batch(body)
        except (FormatError, ApiError):
            return None
        count = len(batch.events)
        if count < 2 * PART_SIZE:
            return None
        pending = [
            self._send_part(
                batch.seq,
                batch.events[offset : offset + PART_SIZE],
                offset,
                trace_id,
                blob_threshold,
            )
            for offset in range(0, count, PART_SIZE)
        ]
        return BatchParts(batch.seq, count, pending)

    def _send_part(
        self,
        seq: int,
        events: list[msgspec.Raw],
        offset: int,
        trace_id: str,
        blob_threshold: int,
    ) -> _Part:
        """One part to a decoder process: through a shared slot if one is free and the
        events fit in half of it, else through the socket."""
        assert self._pool is not None
        reserved = self._pool.reserve()
        if reserved is not None:
            slot = reserved[1]
            lengths = [len(r) for r in events]
            size = sum(lengths)
            if size <= slot.arena.slot_size // 2:
                slot.view[:size] = b"".join(events)
                future = self._pool.submit(
                    _decode_shared_part,
                    seq,
                    slot.start,
                    slot.arena.slot_size,
                    lengths,
                    offset,
                    trace_id,
                    blob_threshold,
                    reserved=reserved,
                )
                return _Part(offset, future, slot=slot)
            slot.abandon()
        raw = [bytes(r) for r in events]
        future = self._pool.submit(
            _decode_part_in_worker, seq, raw, offset, trace_id, blob_threshold
        )
        return _Part(offset, future)

    async def close(self) -> None:
        if self._pool is not None:
            pool, self._pool = self._pool, None
            await pool.close()
