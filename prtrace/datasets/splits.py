"""Splits by a stable hash of the task: every trace of one task lands in the same split.

``sha256(instance_id)`` read as a fraction in [0, 1) picks the split whose
share of the line covers it, so a task's split never depends on which traces
are in the build, their order, or the machine (``train=0.8,test=0.2``).
"""

from __future__ import annotations

import hashlib

from prtrace.errors import UsageError

DEFAULT_SPLITS: dict[str, float] = {"train": 0.8, "test": 0.2}


def parse_splits(text: str) -> dict[str, float]:
    """``"train=0.8,test=0.2"`` → the shares (they must be positive and add up to 1)."""
    shares: dict[str, float] = {}
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        name, sep, value = part.partition("=")
        try:
            share = float(value)
        except ValueError:
            share = -1.0
        if not sep or not name.strip().isidentifier() or share <= 0:
            raise UsageError(f"--splits: {part!r} is not NAME=SHARE with a positive SHARE")
        shares[name.strip()] = share
    if not shares:
        raise UsageError("--splits: no split given (e.g. train=0.8,test=0.2)")
    if abs(sum(shares.values()) - 1.0) > 1e-6:
        raise UsageError(f"--splits: the shares add up to {sum(shares.values()):g}, not 1")
    return shares


def split_of(instance_id: str, shares: dict[str, float]) -> str:
    """The split ``instance_id`` belongs to."""
    digest = hashlib.sha256(instance_id.encode("utf-8", "surrogatepass")).digest()
    point = int.from_bytes(digest[:8], "big") / 2**64
    edge = 0.0
    names = list(shares)
    for name in names:
        edge += shares[name]
        if point < edge:
            return name
    return names[-1]
