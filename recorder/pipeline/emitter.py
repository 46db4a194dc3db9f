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

Nothing reaches the buffer, let alone the spool, without passing
:class:`prtrace.recorder.pipeline.privacy.Privacy` first: events of a workspace that has not
opted in or is paused are dropped, excluded files and commands are dropped, and
every string is redacted — the one choke point for every recorder (docs/privacy.md).
Until the workspace is known (an LSP proxy before ``initialize``) events are
held as objects, never encoded.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec

from prtrace import events as ev
from prtrace.events import _Event
from prtrace.ids import new_session_id
from prtrace.recorder.pipeline.privacy import Privacy
from prtrace.recorder.pipeline.spool import Spool

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
        self._held: list[_Event] = []
        """Events made before the workspace (hence its privacy rules) is known."""
        self.privacy: Privacy | None = None if spool is None else Privacy(_root_of(spool))
        self._open_spool: Callable[[], Spool] | None = None
        self._hashes: dict[str, tuple[str | None, str | None]] = {}
        self._cursors: dict[str, str] = {}
        self.emitted: list[_Event] | None = None
        """Set to a list to also keep the event objects (tests, debugging)."""

    def reserve_id(self) -> str:
        """An id for an event emitted later (``emit(..., event_id=)``), so that others can
        point at it before it exists: an agent's tool call, a running command."""
        self._counter += 1
        return f"{self.session_id}-{self._counter}"

    def emit(
        self, cls: type[_Event], t: float, *, event_id: str | None = None, **fields: Any
    ) -> _Event:
        """Build one event of type ``cls`` at wall-clock time ``t`` and queue it."""
        event = cls(
            id=event_id or self.reserve_id(),
            t=datetime.fromtimestamp(t, UTC),
            session_id=self.session_id,
            source=self.source,
            **fields,
        )
        if self.privacy is None:
            self._held.append(event)
        else:
            self._admit(event)
        if self.emitted is not None:
            self.emitted.append(event)
        return event

    def _admit(self, event: _Event) -> None:
        """The privacy step: drop, or redact and encode (see recorder/pipeline/privacy.py)."""
        assert self.privacy is not None
        if not self.privacy.recording():
            self.privacy.dropped += 1
            return
        body = self.privacy.encode(event)
        if body is not None:
            self._pending.append(body)
            self._note_hash(event)

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
        return len(self._pending) + len(self._held)

    def attach_workspace(self, root: Path) -> None:
        """The workspace is known; its spool is opened only when there is an event to write,
        so a workspace that is not recorded gets no ``.prtrace/`` at all."""
        self._open_spool = lambda: Spool.for_workspace(root)
        self._know(root)

    def _know(self, root: Path) -> None:
        if self.privacy is None or self.privacy.root != root:
            self.privacy = Privacy(root)
        held, self._held = self._held, []
        for event in held:
            self._admit(event)

    def flush(self) -> int:
        """Write the buffered events to the spool, if there is one yet."""
        if self.spool is None and self._open_spool is not None and self._pending:
            self.spool = self._open_spool()
        if self.spool is None or not (self._pending or self._cursors):
            return 0
        # On an error the events stay buffered.
        written = self.spool.append(self._pending, hashes=self._hashes, cursors=self._cursors)
        self._pending, self._hashes, self._cursors = [], {}, {}
        return written


def _root_of(spool: Spool) -> Path:
    """``root/.prtrace/spool.db`` → ``root``."""
    return spool.path.parent.parent
