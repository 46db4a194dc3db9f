"""The durable local spool: one SQLite file per workspace, shared by every recorder.

``.prtrace/spool.db`` holds every event a recorder process of the workspace
wrote (proxies, later the watcher and the terminal), as the JSON that will be
sent, until the backend has it. SQLite in WAL mode lets many processes append
at once; a committed row survives ``kill -9`` of the process that wrote it.

Exactly-once delivery rests on the API's idempotent ``seq`` batches:

1. In *one* transaction the next unsent events are assigned to a new
   ``batches`` row that carries the trace's next ``seq`` — durably, *before*
   anything is sent.
2. The batch is sent; on success it is marked ``delivered``.
3. After a crash the undelivered batch is found again and resent with the same
   ``seq`` and the same events, in the same order, so the same body: the server
   answers "duplicate" and stores nothing twice.

Two small tables ride along in the same transactions as the events:

* ``file_hashes`` — the last content hash the trace knows for each path,
  written by :class:`~prtrace.recorder.pipeline.emitter.EventEmitter` with the events that carry
  one (an ``edit``'s ``after_hash``, a ``file_saved``'s ``hash``, the watcher's
  own ``file_changed``…). The file watcher reads it so that a save the LSP
  proxy already recorded is not recorded a second time.
* ``cursors`` — how far a reader got in an append-only source (the hook's
  command log, git's reflogs). Stored in the transaction that spools the events
  made from it, so a ``kill -9`` between the two can neither lose nor repeat.

And one that says who is changing files right now, for the same file watcher
(:mod:`prtrace.recorder.pipeline.provenance`):

* ``activities`` — a terminal command that runs (``prtrace run``), an agent's
  tool call between its PreToolUse and PostToolUse: the event id its event has
  (or will have), the author it stands for, the paths it writes (NULL: any),
  and its wall-clock ``start`` and ``end`` (NULL while it runs). A change the
  watcher notices in that window is that author's.

And one that says how far each LSP recorder got, for the same file watcher:

* ``lsp_progress`` — one row per running ``prtrace lsp`` worker: every message
  the editor sent before ``seen`` has been recorded and its events are in the
  spool; ``editing`` is the file whose edit burst is still open (not yet an
  ``edit``). The proxy process writes the row before it forwards anything, so
  no save can come before it; the worker keeps it up to date while the watcher
  asks (``wanted``) and deletes it when it exits. Times are
  ``time.monotonic()``: the system-wide clock since boot on Linux and macOS,
  so two processes compare it, and wall-clock steps do not matter.

A batch the server will never take (the trace was sealed: 409) is
``dissolved``: its events go back to the unsent pool for the next session, and
its ``seq`` stays used. A batch the server rejects as invalid (400/413/422) is
``failed`` and kept for inspection, so one bad event cannot block the others.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from prtrace.recorder.session.workspace import state_dir

SPOOL_FILE = "spool.db"
MAX_BATCH_EVENTS = 1000
MAX_BATCH_BYTES = 8 * 1024 * 1024
"""Well under the API's 5,000 events and 32 MiB, so a batch is never refused for size."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    body BLOB NOT NULL,
    created_at REAL NOT NULL,
    batch_id INTEGER REFERENCES batches(id)
);
CREATE INDEX IF NOT EXISTS events_by_batch ON events(batch_id, id);
CREATE TABLE IF NOT EXISTS batches (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    trace_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending',
    created_at REAL NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    sent_at REAL,
    error TEXT,
    UNIQUE (trace_id, seq)
);
CREATE TABLE IF NOT EXISTS file_hashes (
    path TEXT PRIMARY KEY,
    hash TEXT,
    source TEXT,
    updated_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS cursors (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS lsp_progress (
    session_id TEXT PRIMARY KEY,
    pid INTEGER NOT NULL,
    seen REAL NOT NULL,
    editing TEXT,
    updated_at REAL NOT NULL,
    wanted REAL NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS activities (
    event_id TEXT PRIMARY KEY,
    author TEXT NOT NULL,
    paths TEXT,
    start REAL NOT NULL,
    end REAL,
    pid INTEGER
);
CREATE TABLE IF NOT EXISTS closed_traces (
    trace_id TEXT PRIMARY KEY,
    reason TEXT NOT NULL,
    closed_at REAL NOT NULL
);
"""


@dataclass(frozen=True, slots=True)
class Batch:
    id: int
    trace_id: str
    seq: int
    events: list[bytes]


@dataclass(frozen=True, slots=True)
class SpoolCounts:
    events: int
    unsent: int
    pending: int
    """In a batch that is assigned a seq but not yet acknowledged."""
    delivered: int
    failed: int


@dataclass(frozen=True, slots=True)
class LspProgress:
    """How far one LSP recorder got (see the module docstring; times are monotonic)."""

    session_id: str
    pid: int
    seen: float
    """Every message the editor sent before this has been recorded and spooled."""
    editing: str | None
    """The path whose edit burst is open: changes made but not yet an ``edit``."""
    updated_at: float
    wanted: float
    """The ``seen`` a file watcher waits for (the recorder reports while it is ahead)."""

    def alive(self) -> bool:
        """Is the recorder's process still running? (A ``kill -9`` leaves its row behind.)"""
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True


def spool_path(root: Path) -> Path:
    return state_dir(root) / SPOOL_FILE


class Spool:
    """One connection to a workspace's spool (connections are per thread)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.db = sqlite3.connect(path, timeout=30.0, isolation_level=None)
        self.db.execute("PRAGMA busy_timeout = 30000")
        self.db.execute("PRAGMA journal_mode = WAL")
        # NORMAL in WAL mode: a commit survives the process being killed (the WAL
        # is in the OS's hands); only a power cut can lose the last transactions.
        self.db.execute("PRAGMA synchronous = NORMAL")
        self.db.executescript(_SCHEMA)

    @classmethod
    def for_workspace(cls, root: Path) -> Spool:
        state_dir(root, create=True)
        return cls(spool_path(root))

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Spool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- writing ------------------------------------------------------------

    def append(
        self,
        bodies: Iterable[bytes],
        *,
        hashes: dict[str, tuple[str | None, str | None]] | None = None,
        cursors: dict[str, str] | None = None,
    ) -> int:
        """Append encoded events in one transaction; returns how many.

        ``hashes`` (path → (content hash or None if gone, source)) and
        ``cursors`` (name → position) are written in the same transaction.
        """
        now = time.time()
        rows = [(body, now) for body in bodies]
        if rows or hashes or cursors:
            with self._transaction():
                if rows:
                    self.db.executemany("INSERT INTO events (body, created_at) VALUES (?, ?)", rows)
                if hashes:
                    self.db.executemany(
                        "INSERT OR REPLACE INTO file_hashes (path, hash, source, updated_at) "
                        "VALUES (?, ?, ?, ?)",
                        [(path, h, src, now) for path, (h, src) in hashes.items()],
                    )
                if cursors:
                    self.db.executemany(
                        "INSERT OR REPLACE INTO cursors (name, value) VALUES (?, ?)",
                        list(cursors.items()),
                    )
        return len(rows)

    # --- shared state -------------------------------------------------------

    def known_hash(self, path: str) -> tuple[str | None, str | None] | None:
        """(hash, source) the trace last recorded for ``path``; None if never."""
        row = self.db.execute(
            "SELECT hash, source FROM file_hashes WHERE path = ?", (path,)
        ).fetchone()
        return None if row is None else (row[0], row[1])

    def trace_bodies(self, trace_id: str) -> list[bytes]:
        """The events of ``trace_id`` (sent or not) and those not yet given to a trace."""
        rows = self.db.execute(
            "SELECT body FROM events WHERE batch_id IS NULL OR batch_id IN "
            "(SELECT id FROM batches WHERE trace_id = ?) ORDER BY id",
            (trace_id,),
        ).fetchall()
        return [bytes(row[0]) for row in rows]

    def cursor(self, name: str) -> str | None:
        row = self.db.execute("SELECT value FROM cursors WHERE name = ?", (name,)).fetchone()
        return None if row is None else row[0]

    # --- who is changing files (for the file watcher) ------------------------

    def put_activity(
        self,
        event_id: str,
        author: str,
        *,
        start: float,
        paths: str | None = None,
        end: float | None = None,
        pid: int | None = None,
    ) -> None:
        """Insert or replace one activity (``author`` and ``paths`` are JSON)."""
        with self._transaction():
            self.db.execute(
                "INSERT OR REPLACE INTO activities (event_id, author, paths, start, end, pid) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (event_id, author, paths, start, end, pid),
            )

    def end_activity(self, event_id: str, end: float, *, paths: str | None = None) -> None:
        with self._transaction():
            if paths is None:
                self.db.execute("UPDATE activities SET end = ? WHERE event_id = ?", (end, event_id))
            else:
                self.db.execute(
                    "UPDATE activities SET end = ?, paths = ? WHERE event_id = ?",
                    (end, paths, event_id),
                )

    def activities_at(
        self, t: float, *, slack: float
    ) -> list[tuple[str, str, str | None, float, float | None, int | None]]:
        """Activities whose window ``[start, end + slack]`` holds ``t`` (open ones too),
        the latest start first."""
        return self.db.execute(
            "SELECT event_id, author, paths, start, end, pid FROM activities "
            "WHERE start <= ? AND (end IS NULL OR end + ? >= ?) ORDER BY start DESC",
            (t, slack, t),
        ).fetchall()

    # --- LSP recorders' progress (for the file watcher) ----------------------

    def put_progress(
        self, session_id: str, pid: int, seen: float, editing: str | None = None
    ) -> None:
        """Say how far the LSP recorder ``session_id`` got (keeps what a watcher wants)."""
        with self._transaction():
            self.db.execute(
                "INSERT INTO lsp_progress (session_id, pid, seen, editing, updated_at) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (session_id) DO UPDATE SET "
                "pid = excluded.pid, seen = excluded.seen, editing = excluded.editing, "
                "updated_at = excluded.updated_at",
                (session_id, pid, seen, editing, time.monotonic()),
            )

    def drop_progress(self, session_ids: Iterable[str]) -> None:
        """The recorders are gone: no watcher should wait for them."""
        ids = [(session_id,) for session_id in session_ids]
        if ids:
            with self._transaction():
                self.db.executemany("DELETE FROM lsp_progress WHERE session_id = ?", ids)

    def lsp_progress(self) -> list[LspProgress]:
        rows = self.db.execute(
            "SELECT session_id, pid, seen, editing, updated_at, wanted FROM lsp_progress"
        ).fetchall()
        return [LspProgress(*row) for row in rows]

    def progress_wanted(self, session_id: str) -> float:
        """The ``seen`` a file watcher is waiting for from this recorder (0: none)."""
        row = self.db.execute(
            "SELECT wanted FROM lsp_progress WHERE session_id = ?", (session_id,)
        ).fetchone()
        return 0.0 if row is None else row[0]

    def want_progress(self, until: float) -> None:
        """Ask every LSP recorder to report until its ``seen`` reaches ``until``."""
        with self._transaction():
            self.db.execute(
                "UPDATE lsp_progress SET wanted = MAX(wanted, ?) WHERE wanted < ?",
                (until, until),
            )

    # --- uploading ----------------------------------------------------------

    def next_batch(
        self,
        trace_id: str,
        max_events: int = MAX_BATCH_EVENTS,
        max_bytes: int = MAX_BATCH_BYTES,
    ) -> Batch | None:
        """The batch to send next for ``trace_id``: an unacknowledged one, else a new one.

        A new batch is made (events assigned, seq taken) in one transaction,
        so a crash either leaves the events unsent or leaves a complete batch.
        """
        with self._transaction():
            if self.is_closed(trace_id):
                return None
            row = self.db.execute(
                "SELECT id, seq FROM batches WHERE trace_id = ? AND state = 'pending' "
                "ORDER BY seq LIMIT 1",
                (trace_id,),
            ).fetchone()
            if row is not None:
                return self._load(row[0], trace_id, row[1])
            candidates = self.db.execute(
                "SELECT id, length(body) FROM events WHERE batch_id IS NULL ORDER BY id LIMIT ?",
                (max_events,),
            ).fetchall()
            if not candidates:
                return None
            last_id, total = candidates[0][0], 0
            for event_id, size in candidates:
                if total and total + size > max_bytes:
                    break
                total += size
                last_id = event_id
            (seq,) = self.db.execute(
                "SELECT COALESCE(MAX(seq) + 1, 0) FROM batches WHERE trace_id = ?", (trace_id,)
            ).fetchone()
            cur = self.db.execute(
                "INSERT INTO batches (trace_id, seq, created_at) VALUES (?, ?, ?)",
                (trace_id, seq, time.time()),
            )
            batch_id = cur.lastrowid
            assert batch_id is not None  # set by the INSERT just made
            self.db.execute(
                "UPDATE events SET batch_id = ? WHERE batch_id IS NULL AND id <= ?",
                (batch_id, last_id),
            )
            return self._load(batch_id, trace_id, seq)

    def has_work(self, trace_id: str) -> bool:
        """Is there anything to send for ``trace_id``? (A read: takes no write lock.)"""
        row = self.db.execute(
            "SELECT EXISTS (SELECT 1 FROM events WHERE batch_id IS NULL) "
            "OR EXISTS (SELECT 1 FROM batches WHERE trace_id = ? AND state = 'pending')",
            (trace_id,),
        ).fetchone()
        return bool(row[0])

    def _load(self, batch_id: int, trace_id: str, seq: int) -> Batch:
        events = [
            bytes(body)
            for (body,) in self.db.execute(
                "SELECT body FROM events WHERE batch_id = ? ORDER BY id", (batch_id,)
            )
        ]
        return Batch(batch_id, trace_id, seq, events)

    def record_attempt(self, batch: Batch, error: str | None) -> None:
        with self._transaction():
            self.db.execute(
                "UPDATE batches SET attempts = attempts + 1, error = ? WHERE id = ?",
                (error, batch.id),
            )

    def mark_delivered(self, batch: Batch) -> None:
        with self._transaction():
            self.db.execute(
                "UPDATE batches SET state = 'delivered', sent_at = ?, error = NULL, "
                "attempts = attempts + 1 WHERE id = ?",
                (time.time(), batch.id),
            )

    def mark_failed(self, batch: Batch, error: str) -> None:
        """The server refuses this batch as invalid: keep it aside, send the rest."""
        with self._transaction():
            self.db.execute(
                "UPDATE batches SET state = 'failed', error = ?, attempts = attempts + 1 "
                "WHERE id = ?",
                (error, batch.id),
            )

    def dissolve(self, batch: Batch, reason: str) -> None:
        """The trace takes no more events: its events return to the pool, the trace closes."""
        with self._transaction():
            self.db.execute("UPDATE events SET batch_id = NULL WHERE batch_id = ?", (batch.id,))
            self.db.execute(
                "UPDATE batches SET state = 'dissolved', error = ?, attempts = attempts + 1 "
                "WHERE id = ?",
                (reason, batch.id),
            )
            self.close_trace(batch.trace_id, reason)

    def close_trace(self, trace_id: str, reason: str) -> None:
        self.db.execute(
            "INSERT OR IGNORE INTO closed_traces (trace_id, reason, closed_at) VALUES (?, ?, ?)",
            (trace_id, reason, time.time()),
        )

    def is_closed(self, trace_id: str) -> bool:
        row = self.db.execute(
            "SELECT 1 FROM closed_traces WHERE trace_id = ?", (trace_id,)
        ).fetchone()
        return row is not None

    # --- reporting ----------------------------------------------------------

    def counts(self, trace_id: str | None = None) -> SpoolCounts:
        """How many events there are, and where they stand (for one trace, if given)."""
        row = self.db.execute(
            """
            SELECT COUNT(*),
                   SUM(e.batch_id IS NULL),
                   SUM(b.state = 'pending'),
                   SUM(b.state = 'delivered'),
                   SUM(b.state = 'failed')
            FROM events e LEFT JOIN batches b ON b.id = e.batch_id
            WHERE ? IS NULL OR e.batch_id IS NULL OR b.trace_id = ?
            """,
            (trace_id, trace_id),
        ).fetchone()
        return SpoolCounts(*(int(v or 0) for v in row))

    def last_error(self, trace_id: str) -> str | None:
        row = self.db.execute(
            "SELECT error FROM batches WHERE trace_id = ? AND error IS NOT NULL "
            "ORDER BY id DESC LIMIT 1",
            (trace_id,),
        ).fetchone()
        return row[0] if row else None

    # --- plumbing -----------------------------------------------------------

    def _transaction(self) -> _Transaction:
        return _Transaction(self.db)


class _Transaction:
    """BEGIN IMMEDIATE … COMMIT, or ROLLBACK on an exception.

    IMMEDIATE takes the write lock up front, so two processes never deadlock
    upgrading read transactions; the busy timeout makes the second one wait.
    """

    __slots__ = ("db",)

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> None:
        self.db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, *rest: object) -> None:
        self.db.execute("ROLLBACK" if exc_type else "COMMIT")
