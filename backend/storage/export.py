"""Shaping exported traces: only some event types, command outputs capped.

Datasets rarely want megabytes of build logs per command, and some want only
the editing events. :class:`EventShaper` is applied by
:meth:`prtrace.backend.storage.traces.TraceStore.iter_documents` to each event's stored JSON
on its way out of ``GET /export``. An exported trace is still a valid trace in
the trace format: a trimmed command says so with ``truncated: true`` (and
``output_bytes``, the size before trimming), and its text ends with a marker
saying how much was cut.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import msgspec

OUTPUT_FIELDS = ("stdout", "stderr")
"""The command output fields ``max_output_bytes`` applies to."""

_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder().decode


def trim_marker(kept: int, total: int) -> str:
    """The text that ends a trimmed output (kept and total are UTF-8 bytes)."""
    return f"\n[prtrace export: output trimmed, {kept} of {total} bytes kept]"


def _cut(text: str, limit: int) -> tuple[str, int, int]:
    """``text`` cut to at most ``limit`` UTF-8 bytes (at a character boundary)."""
    data = text.encode("utf-8", "surrogatepass")
    if len(data) <= limit:
        return text, len(data), len(data)
    kept = data[:limit].decode("utf-8", "ignore")
    return kept, len(kept.encode("utf-8", "surrogatepass")), len(data)


@dataclass(frozen=True)
class EventShaper:
    """What an export keeps of each trace's events."""

    types: list[str] = field(default_factory=list)
    """Only events of these types (all when empty); applied in SQL."""
    max_output_bytes: int | None = None
    """Cap each command's stdout/stderr at this many bytes (0 drops them)."""

    @property
    def active(self) -> bool:
        return bool(self.types) or self.max_output_bytes is not None

    def event(self, body: bytes) -> bytes:
        """One event's JSON, with its outputs capped; untouched when under the cap."""
        limit = self.max_output_bytes
        if limit is None or len(body) <= limit:
            return body  # no field can be longer than the whole event
        event = _decode(body)
        if event.get("type") != "terminal_command":
            return body
        original = 0
        changed = False
        for name in OUTPUT_FIELDS:
            text = event.get(name)
            if not isinstance(text, str) or not text:
                continue
            kept, kept_bytes, total = _cut(text, limit)
            original += total
            if kept_bytes < total:
                event[name] = kept + trim_marker(kept_bytes, total) if limit else ""
                changed = True
        if not changed:
            return body
        event["truncated"] = True
        event.setdefault("output_bytes", original)
        return _encode(event)
