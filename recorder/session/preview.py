"""``prtrace record preview``: exactly what the next upload would send, without sending.

It reads the spool the way :meth:`prtrace.recorder.pipeline.spool.Spool.next_batch` picks a
batch — the oldest unacknowledged batch of the session's trace, else the next
unsent events within the batch limits — but read-only: nothing is assigned,
so previewing never changes what is sent. The events are the bytes in the
spool, which are the bytes that go over the wire (already redacted).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec

from prtrace.recorder.pipeline.privacy import Privacy, is_paused, opt_in_reason
from prtrace.recorder.pipeline.spool import MAX_BATCH_BYTES, MAX_BATCH_EVENTS, spool_path
from prtrace.recorder.session.state import load_session


@dataclass
class Preview:
    workspace: str
    recording: bool
    opted_in: str | None
    paused: bool
    local_only: bool
    destination: str | None
    trace_id: str | None
    seq: int | None
    events: list[bytes] = field(default_factory=list)
    waiting: int = 0
    """Unsent events in all (the next batch is at most MAX_BATCH_EVENTS of them)."""

    def report(self) -> dict[str, Any]:
        return {
            "workspace": self.workspace,
            "recording": self.recording,
            "opted_in": self.opted_in,
            "paused": self.paused,
            "local_only": self.local_only,
            "destination": None if self.local_only else self.destination,
            "trace_id": self.trace_id,
            "seq": self.seq,
            "waiting": self.waiting,
            "events": [msgspec.Raw(body) for body in self.events],
        }


def preview(root: Path) -> Preview:
    privacy = Privacy(root)
    session = load_session(root)
    result = Preview(
        workspace=str(root),
        recording=privacy.recording(),
        opted_in=opt_in_reason(root, privacy.config),
        paused=is_paused(root),
        local_only=privacy.config.local_only,
        destination=session.url if session else None,
        trace_id=session.trace_id if session else None,
        seq=None,
    )
    path = spool_path(root)
    if not path.exists():
        return result
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30.0)
    try:
        result.waiting = db.execute(
            "SELECT COUNT(*) FROM events WHERE batch_id IS NULL"
        ).fetchone()[0]
        pending = None
        if session is not None:
            pending = db.execute(
                "SELECT id, seq FROM batches WHERE trace_id = ? AND state = 'pending' "
                "ORDER BY seq LIMIT 1",
                (session.trace_id,),
            ).fetchone()
        if pending is not None:
            result.seq = pending[1]
            result.events = [
                bytes(b)
                for (b,) in db.execute(
                    "SELECT body FROM events WHERE batch_id = ? ORDER BY id", (pending[0],)
                )
            ]
            return result
        if session is not None:
            result.seq = db.execute(
                "SELECT COALESCE(MAX(seq) + 1, 0) FROM batches WHERE trace_id = ?",
                (session.trace_id,),
            ).fetchone()[0]
        total = 0
        for (body,) in db.execute(
            "SELECT body FROM events WHERE batch_id IS NULL ORDER BY id LIMIT ?",
            (MAX_BATCH_EVENTS,),
        ):
            if total and total + len(body) > MAX_BATCH_BYTES:
                break
            total += len(body)
            result.events.append(bytes(body))
    finally:
        db.close()
    return result
