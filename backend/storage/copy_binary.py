"""``events`` rows in PostgreSQL's binary ``COPY`` format, made where the CPU is free.

A batch stored part by part (``TraceStore.append_parts``) is written with ``COPY``
by the server's process, which also parses HTTP and shares its core with the
PostgreSQL backend receiving the rows: on two cores that is the slow side, while
the decoder process has time to spare. So the decoder encodes its part's rows
(this module) and the server sends the bytes as they are (asyncpg's
``copy_to_table(source=…, format="binary")``), instead of asyncpg encoding each
record in the server's process.

The format: https://www.postgresql.org/docs/15/sql-copy.html ("Binary Format").
The columns are :data:`COPY_COLUMNS`. A decoder process leaves ``blob_fields`` NULL;
a part with an event large enough to move a field to the blob store is encoded by the
server, which can.
"""

from __future__ import annotations

import struct

COPY_COLUMNS = ["trace_id", "seq", "idx", "event_id", "type", "t", "body", "blob_fields"]
"""In the order of the fields of each row below."""

_SIGNATURE = b"PGCOPY\n\xff\r\n\x00" + struct.pack("!ii", 0, 0)  # no OIDs, no extension
_TRAILER = struct.pack("!h", -1)
_IDX_AND_ID_LENGTH = struct.Struct("!iii")  # 4, idx, len(event_id)
_TIME_AND_BODY_LENGTH = struct.Struct("!idi")  # 8, t, len(body)
_NULL = struct.pack("!i", -1)
_LENGTH = struct.Struct("!i")


def copy_rows(
    trace_id: str,
    seq: int,
    offset: int,
    ids: list[str],
    types: list[str],
    times: list[float],
    bodies: list[bytes],
    blob_fields: list[bytes | None] | None = None,
) -> bytes:
    """The rows ``offset``… of batch ``seq`` of ``trace_id``, one ``COPY`` stream
    (``blob_fields`` NULL unless given, row by row)."""
    tid = trace_id.encode()
    lead = struct.pack("!hi", len(COPY_COLUMNS), len(tid)) + tid + struct.pack("!iq", 8, seq)
    tags: dict[str, bytes] = {}
    pieces = [_SIGNATURE]
    idx_and_id = _IDX_AND_ID_LENGTH.pack
    time_and_body = _TIME_AND_BODY_LENGTH.pack
    nulls = [None] * len(bodies) if blob_fields is None else blob_fields
    for idx, (event_id, tag, t, body, blob) in enumerate(
        zip(ids, types, times, bodies, nulls, strict=True), offset
    ):
        eid = event_id.encode()  # msgspec refuses lone surrogates: always UTF-8
        kind = tags.get(tag)
        if kind is None:
            data = tag.encode()
            kind = tags[tag] = struct.pack("!i", len(data)) + data
        pieces += (
            lead,
            idx_and_id(4, idx, len(eid)),
            eid,
            kind,
            time_and_body(8, t, len(body)),
            body,
            _NULL if blob is None else _LENGTH.pack(len(blob)) + blob,
        )
    pieces.append(_TRAILER)
    return b"".join(pieces)
