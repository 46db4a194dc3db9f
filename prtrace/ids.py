"""Identifiers that sort by creation time (ULID layout, Crockford base32).

Trace ids, job ids and event ids are all made here so that listing by id is
listing by time, and two machines never need to coordinate to make one.
"""

from __future__ import annotations

import os
import threading
import time

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_lock = threading.Lock()
_last = 0


def ulid(now_ms: int | None = None) -> str:
    """A 26-character ULID: 48 bits of milliseconds, 80 random bits.

    Monotonic within a process: two ids made in the same millisecond still
    sort in the order they were made (the second is the first plus one).
    """
    global _last
    ms = int(time.time() * 1000) if now_ms is None else now_ms
    with _lock:
        value = (ms << 80) | int.from_bytes(os.urandom(10), "big")
        if value <= _last and (_last >> 80) >= ms:
            value = _last + 1
        _last = value
    chars = []
    for _ in range(26):
        chars.append(_ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def new_trace_id() -> str:
    return "tr_" + ulid().lower()


def new_session_id() -> str:
    return "ses_" + ulid().lower()
