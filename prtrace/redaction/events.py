"""Redacting whole events (and other API documents) field by field.

Every string an event carries is redacted — command lines and arguments,
outputs, patches, thoughts, diagnostics, symbols, paths, URLs, commit messages
— except the fields that are structure, not content: ids, times, hashes, enum
values and blob keys (a hash is not text a secret could be in, and changing
one would break the trace). Walking the decoded JSON rather than each event
type keeps this correct for event types added later (issue 4's terminal,
watcher and git events need nothing here).

:func:`redact_event_json` is the server's entry point: it takes an event's
JSON bytes as received, returns ``None`` when nothing changed (the common case:
the bytes are stored as they came, no re-encoding), or the new bytes.
"""

from __future__ import annotations

import bisect
import re
from typing import Any, TypeVar

import msgspec

from prtrace.redaction.engine import Redactor, Structural, default_redactor

STRUCTURAL_KEYS = frozenset(
    {
        "type",
        "id",
        "t",
        "session_id",
        "source",
        "hash",
        "before_hash",
        "after_hash",
        "op",
        "kind",
        "severity",
        "language",
        "output_blob",
        "created_at",
        "sealed_at",
        "version",
    }
)
"""Keys whose string values are never redacted (structure, not content)."""

_STRUCTURAL_BYTES = frozenset(k.encode() for k in STRUCTURAL_KEYS)


_ESCAPED_ASCII = re.compile(rb"\\u00[2-7][0-9a-fA-F]")


def _escapes(raw: bytes, probes: list[tuple[bytes, int]]) -> list[int]:
    """Of the :data:`~prtrace.redaction.engine.PROBES` found in ``raw``, where a JSON
    escape may hide a literal: printable ASCII as ``\\u00XX``, or ``\\/`` (``:\\/\\/``
    hides a URL's ``://``). An event with one is looked at decoded."""
    found: list[int] = []
    for probe, pos in probes:
        if probe == b"\\/":
            run = pos
            while run > 0 and raw[run - 1] == 0x5C:
                run -= 1
            if (pos - run) % 2 == 0:  # an odd run of backslashes: the last escapes ``/``
                found.append(pos)
        elif _ESCAPED_ASCII.match(raw, pos):
            found.append(pos)
    return found


def _structural(raw: bytes) -> Structural:
    """For literals found in JSON bytes: is the one at ``raw[start:end]`` structure
    (inside a key, inside a structural key's value, or a string's own quote)?"""

    def structural(start: int, end: int) -> bool:
        if raw[start : start + 1] == b'"':
            return raw[start - 1 : start] != b"\\"  # a string's quote, not one in text
        close = raw.find(b'"', end)
        if close < 0 or raw[close - 1 : close] == b"\\":
            return False
        after = raw[close + 1 : close + 3]
        if after[:1] == b":" or after == b" :":
            return True  # in a key
        opening = raw.rfind(b'"', 0, start)
        if opening < 2 or raw[opening - 1 : opening] == b"\\":
            return False
        if raw[opening - 1 : opening] == b":":
            key_end = opening - 1
        elif raw[opening - 2 : opening] == b": ":
            key_end = opening - 2
        else:
            return False
        if raw[key_end - 1 : key_end] != b'"':
            return False
        key_start = raw.rfind(b'"', 0, key_end - 1)
        return raw[key_start + 1 : key_end - 1] in _STRUCTURAL_BYTES

    return structural


def suspicious_json(raw: bytes, redactor: Redactor) -> bool:
    """Could any detector match a string of this event? (The fast pre-check.)

    :meth:`Redactor.suspicious_bytes` over the JSON, leaving out literals found in
    structure: inside a key (every event has ``"session_id"``), inside the value of a
    structural key (an id, a hash), or a JSON string's own quote. JSON escapes hide no
    literal (they are plain ASCII) unless printable ASCII is written as ``\\u00XX``
    (or ``/`` as ``\\/``): then every string is looked at decoded.
    """
    probes: list[tuple[bytes, int]] = []
    if redactor.suspicious_bytes(raw, _structural(raw), probes):
        return True
    return bool(_escapes(raw, probes))


_SEPARATOR = b"\x00"
"""Between events in a batch's one scan: no literal, name or white space of any rule
contains it, and valid JSON never does, so no hit spans two events."""


def suspicious_events(raws: list[bytes], redactor: Redactor) -> list[int]:
    """The indexes of the events that :func:`suspicious_json` may call suspicious,
    found in ONE scan over the whole batch (per view: one transform, one Aho-Corasick
    pass) instead of one per event: a clean event costs its bytes, not a call.

    A superset: the batch's gates stand for each event's, and a check near an event's
    edge may look into its neighbour; :func:`redact_event_json` decides for each."""
    if redactor.always or redactor.has_unanchored or len(raws) < 2:
        return list(range(len(raws)))
    joined = _SEPARATOR.join(raws)
    starts: list[int] = []
    offset = 0
    for raw in raws:
        starts.append(offset)
        offset += len(raw) + 1
    probes: list[tuple[bytes, int]] = []
    positions = redactor.hit_positions(joined, _structural(joined), probes)
    positions += _escapes(joined, probes)
    return sorted({bisect.bisect_right(starts, p) - 1 for p in positions})


def redact_events_json(raws: list[bytes], redactor: Redactor | None = None) -> list[bytes | None]:
    """:func:`redact_event_json` of each event of a batch, the pre-check done once
    for the whole batch (:func:`suspicious_events`)."""
    redactor = redactor or default_redactor()
    out: list[bytes | None] = [None] * len(raws)
    for i in suspicious_events(raws, redactor):
        out[i] = redact_event_json(raws[i], redactor)
    return out


_decode = msgspec.json.decode
_encode = msgspec.json.Encoder().encode
T = TypeVar("T")


def redact_builtins(value: Any, redactor: Redactor, key: str | None = None) -> tuple[Any, bool]:
    """``value`` (decoded JSON) with its strings redacted, and whether any changed."""
    if isinstance(value, str):
        if key in STRUCTURAL_KEYS:
            return value, False
        out = redactor.text(value)
        return out, out is not value and out != value
    if isinstance(value, dict):
        changed = False
        words = value.get("args")
        found = _word_findings(words, redactor) if isinstance(words, list) else []
        for k, v in value.items():
            if isinstance(v, (str, dict, list)):
                new, did = redact_builtins(v, redactor, k)
                if isinstance(new, str) and found and k not in STRUCTURAL_KEYS:
                    # The command line quotes its words (``'"'"'``): what the words
                    # showed to be secrets goes wherever it appears.
                    for secret, placeholder in found:
                        if secret in new:
                            new, did = new.replace(secret, placeholder), True
                if did:
                    value[k] = new
                    changed = True
        return value, changed
    if isinstance(value, list):
        changed = False
        if len(value) > 1 and key not in STRUCTURAL_KEYS and all(isinstance(v, str) for v in value):
            # Words of one command (``args``): a value may only be a secret in the
            # context of its neighbours (``aws_secret_access_key = <value>``).
            for part, placeholder in _word_findings(value, redactor):
                for i, item in enumerate(value):
                    if part in item:
                        value[i] = item.replace(part, placeholder)
                        changed = True
        for i, v in enumerate(value):
            new, did = redact_builtins(v, redactor, key)
            if did:
                value[i] = new
                changed = True
        return value, changed
    return value, False


def _word_findings(words: list[Any], redactor: Redactor) -> list[tuple[str, str]]:
    """Secrets among a command's words, found with the words around them; a finding
    that spans words (a key block) is split into its long words."""
    if len(words) < 2 or not all(isinstance(w, str) for w in words):
        return []
    out: list[tuple[str, str]] = []
    for secret, placeholder in redactor.findings(" ".join(words)):
        parts = [secret] if " " not in secret else [w for w in secret.split() if len(w) >= 8]
        out += [(part, placeholder) for part in parts]
    return out


def redact_event_json(raw: bytes, redactor: Redactor | None = None) -> bytes | None:
    """The event's JSON with secrets replaced, or ``None`` if it had none."""
    redactor = redactor or default_redactor()
    if not suspicious_json(raw, redactor):
        return None
    data, changed = redact_builtins(_decode(raw), redactor)
    return _encode(data) if changed else None


def redact_struct(obj: T, redactor: Redactor | None = None) -> T:
    """A msgspec Struct (a create request, artifacts) with its strings redacted."""
    redactor = redactor or default_redactor()
    data, changed = redact_builtins(msgspec.to_builtins(obj), redactor)
    if not changed:
        return obj
    return msgspec.convert(data, type(obj))
