"""Identifiers that sort by creation time (ULID layout, Crockford base32).

Trace ids, job ids and event ids are all made here so that listing by id is
listing by time, and two machines never need to coordinate to make one.
"""

from __future__ import annotations

import os
import time

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def ulid(now_ms: int | None = None) -> str:
    """A 26-character ULID: 48 bits of milliseconds, 80 random bits."""
    ms = int(time.time() * 1000) if now_ms is None else now_ms
    value = (ms << 80) | int.from_bytes(os.urandom(10), "big")
    chars = []
    for _ in range(26):
        chars.append(_ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def new_trace_id() -> str:
    return "tr_" + ulid().lower()


def new_session_id() -> str:
    return "ses_" + ulid().lower()
