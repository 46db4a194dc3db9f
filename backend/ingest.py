"""Decoding an event batch for ingestion: validate every event, keep its bytes.

The body is split into the raw JSON of each event (cheap: msgspec only
scans), then each event is decoded into the trace format on its own so that
an error names ``events[i]…``. The raw bytes are what gets stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgspec

from backend.errors import ApiError
from prtrace.api_types import MAX_BATCH_EVENTS, RawEventBatch
from prtrace.codec import FormatError, decode, split_msgspec_error
from prtrace.events import Event

_event_decoder = msgspec.json.Decoder(Event)


@dataclass
class DecodedBatch:
    seq: int
    events: list[Any]
    raw: list[bytes]


def decode_batch(body: bytes) -> DecodedBatch:
    """Raise :class:`FormatError` with the JSON path of the first bad value."""
    try:
        batch = decode(body, RawEventBatch)
    except FormatError as exc:
        if exc.field == "events" and f"length <= {MAX_BATCH_EVENTS}" in exc.message:
            # docs/api.md: a batch over the limit is 413, like a body over 32 MiB.
            raise ApiError(413, f"a batch holds at most {MAX_BATCH_EVENTS} events", "events") from None
        raise
    events = []
    for i, raw in enumerate(batch.events):
        try:
            events.append(_event_decoder.decode(raw))
        except msgspec.MsgspecError as exc:
            error = split_msgspec_error(exc)
            field = f"events[{i}].{error.field}" if error.field else f"events[{i}]"
            raise FormatError(error.message, field) from None
        except UnicodeDecodeError:
            # msgspec.Raw skips strings unchecked; decoding the event finds it.
            raise FormatError("body is not valid UTF-8", f"events[{i}]", syntax=True) from None
    return DecodedBatch(seq=batch.seq, events=events, raw=[bytes(r) for r in batch.events])
