"""Making events and handing them to the spool.

Every recorder process has its own ``session_id`` (``prtrace.ids``), and each
event id is ``f"{session_id}-{n}"`` with ``n`` counting up in that process, so
ids are unique in a trace however many proxies, watchers and terminals feed
it, with no coordination. Events are encoded once, here, to the exact JSON that
will be uploaded, and buffered until :meth:`EventEmitter.flush` writes them to
the spool in one transaction (the recording thread flushes whenever it has
caught up with the stream, so a burst of 20,000 messages is a few commits, not
20,000).

Events that say what a file now holds (an ``edit``'s ``after_hash``, a
``file_saved``'s ``hash``, a ``file_changed``…) also update the spool's
``file_hashes`` table in the same transaction: that is how the file watcher
learns that the LSP proxy already recorded a change it sees on disk.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import msgspec

from prtrace import events as ev
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
        self._hashes: dict[str, tuple[str | None, str | None]] = {}
        self._cursors: dict[str, str] = {}
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
        self._note_hash(event)
        if self.emitted is not None:
            self.emitted.append(event)
        return event

    def _note_hash(self, event: _Event) -> None:
        """Remember what content this event says its file now has."""
        source = self.source
        if isinstance(event, (ev.Edit, ev.FileChanged)):
            self._hashes[event.path] = (event.after_hash, source)
        elif isinstance(event, (ev.FileSaved, ev.FileOpened, ev.FileCreated)):
            if event.hash is not None:
                self._hashes[event.path] = (event.hash, source)
        elif isinstance(event, ev.FileDeleted):
            self._hashes[event.path] = (None, source)
        elif isinstance(event, ev.FileMoved):
            self._hashes[event.from_path] = (None, source)
            self._hashes[event.path] = (event.hash, source)

    def set_cursor(self, name: str, value: str) -> None:
        """Store ``value`` as cursor ``name`` with the next flush (with its events)."""
        self._cursors[name] = value

    @property
    def pending(self) -> int:
        return len(self._pending)

    def attach(self, spool: Spool) -> None:
        """Start writing to ``spool`` (events made before are kept and written then)."""
        self.spool = spool

    def flush(self) -> int:
        """Write the buffered events to the spool, if there is one yet."""
        if self.spool is None or not (self._pending or self._cursors):
            return 0
        # On an error the events stay buffered.
        written = self.spool.append(self._pending, hashes=self._hashes, cursors=self._cursors)
        self._pending, self._hashes, self._cursors = [], {}, {}
        return written
