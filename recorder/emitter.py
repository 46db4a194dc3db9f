"""Making events and handing them to the spool.

Every recorder process has its own ``session_id`` (``prtrace.ids``), and each
event id is ``f"{session_id}-{n}"`` with ``n`` counting up in that process, so
ids are unique in a trace however many proxies, watchers and terminals feed
it, with no coordination. Events are encoded once, here, to the exact JSON that
will be uploaded, and buffered until :meth:`EventEmitter.flush` writes them to
the spool in one transaction (the recording thread flushes whenever it has
caught up with the stream, so a burst of 20,000 messages is a few commits, not
20,000).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import msgspec

from prtrace.events import _Event
from prtrace.ids import new_session_id
from recorder.spool import Spool

_encoder = msgspec.json.Encoder()


class EventEmitter:
    def __init__(
        self,
        spool: Spool | None = None,
        *,
        session_id: str | None = None,
        source: str | None = None,
    ) -> None:
        self.session_id = session_id or new_session_id()
        self.source = source
        self.spool = spool
        self._counter = 0
        self._pending: list[bytes] = []
        self.emitted: list[_Event] | None = None
        """Set to a list to also keep the event objects (tests, debugging)."""

    def emit(self, cls: type[_Event], t: float, **fields: Any) -> _Event:
        """Build one event of type ``cls`` at wall-clock time ``t`` and queue it."""
        self._counter += 1
        event = cls(
            id=f"{self.session_id}-{self._counter}",
            t=datetime.fromtimestamp(t, UTC),
            session_id=self.session_id,
            source=self.source,
            **fields,
        )
        self._pending.append(_encoder.encode(event))
        if self.emitted is not None:
            self.emitted.append(event)
        return event

    @property
    def pending(self) -> int:
        return len(self._pending)

    def attach(self, spool: Spool) -> None:
        """Start writing to ``spool`` (events made before are kept and written then)."""
        self.spool = spool

    def flush(self) -> int:
        """Write the buffered events to the spool, if there is one yet."""
        if not self._pending or self.spool is None:
            return 0
        written = self.spool.append(self._pending)  # on an error the events stay buffered
        self._pending = []
        return written
