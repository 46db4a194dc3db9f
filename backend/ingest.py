"""Decoding an event batch for ingestion: validate every event, keep its bytes.

The body is split into the raw JSON of each event (cheap: msgspec only
scans), then each event is decoded into the trace format on its own so that
an error names ``events[i]…``. The raw bytes are what gets stored, after the
same redaction the recorder applies (a safety net for other clients).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgspec

from backend.errors import ApiError
from prtrace.api_types import MAX_BATCH_EVENTS, RawEventBatch
from prtrace.codec import FormatError, decode, split_msgspec_error
from prtrace.events import Event
from prtrace.redaction import redact_event_json

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
    raw = [bytes(r) for r in batch.events]
    _redact(events, raw)
    return DecodedBatch(seq=batch.seq, events=events, raw=raw)


def _redact(events: list[Any], raw: list[bytes]) -> None:
    """The safety net for traces from other clients (docs/privacy.md): the recorder's
    redaction again, over the bytes as received. An event with nothing suspicious
    costs one scan and is stored as it came; only a changed one is re-encoded."""
    for i, body in enumerate(raw):
        redacted = redact_event_json(body)
        if redacted is not None:
            raw[i] = redacted
            events[i] = _event_decoder.decode(redacted)
