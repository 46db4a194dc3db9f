"""The file-system watcher: changes made behind the editor's back.

Formatters, ``sed -i``, ``git checkout``, code generators and a second editor
change files without the LSP proxy seeing anything. :class:`FileWatcher` turns
what ``watchdog`` reports into ``file_created``, ``file_changed`` (a unified
diff for text files, :func:`prtrace.patches.make_patch`), ``file_deleted`` and
``file_moved`` events.

* **Ignored paths** follow git (:mod:`prtrace.recorder.files.ignore`); ``.git/`` and
  ``.prtrace/`` are never recorded (changes under ``.git/`` are handed to
  ``on_git`` instead, for :mod:`prtrace.recorder.files.gitwatch`).
* **Baseline.** At start every file that is not ignored is read once
  (:mod:`prtrace.recorder.files.snapshots`); a change is recorded as the difference from the
  baseline, which then moves on.
* **Debouncing.** Events only mark paths dirty. The paths are looked at once
  nothing has happened for :data:`DEBOUNCE` seconds (at most :data:`MAX_DELAY`
  after the first event), so an editor's save storm (temp file, rename,
  chmod, several writes) is one change, and a file that ends up as it was makes
  no event at all.
* **Moves** are found by content: a file that disappeared and one that
  appeared in the same round with the same hash are one ``file_moved`` — this
  covers ``mv``, ``git mv`` and folders moved whole, whatever events the
  kernel gave.
* **No duplicates of the editor's edits.** Before recording a change the
  watcher looks up the path's last known hash in the spool (written by the LSP
  recorder with its ``edit``/``file_saved`` events, see
  :class:`prtrace.recorder.pipeline.emitter.EventEmitter`). If the file on disk has that hash
  the change is already in the trace: the baseline moves on silently.
* **Waiting for the editors' recorders.** An LSP recorder may be seconds
  behind its editor (a cold start, a lower priority, a burst that is an
  ``edit`` only when it ends), so "not in the spool" does not yet mean "not
  the editor". Each running recorder says in the spool how far it got
  (``lsp_progress``, see :mod:`prtrace.recorder.lsp.main`): a state of a file
  noticed at time *n* is judged only once every live recorder has recorded
  everything its editor sent before *n* — plus :data:`LSP_GRACE` if the file
  is open in an editor (its last hash came from the proxy), for editors that
  send the change after writing the file — and has no edit of that file still
  open. Until then the states the watcher saw are kept (:class:`_Seen`), in
  order, so that a save the recorder confirms later still moves the baseline
  to the text that was saved, and a later change is diffed from it. The wait
  is on the recorders' progress, not on a clock; only a recorder that reports
  nothing for :data:`RECORDER_STALL` seconds while asked is no longer waited for.
* **Who made it.** Each change carries ``author``: the agent's tool call or the
  terminal command running when the change was noticed, else ``unknown``
  (:mod:`prtrace.recorder.pipeline.provenance`). A change an agent's Write or Edit made
  is recorded here once, as the agent's; the ``agent_tool_call`` lists the path.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from watchdog.events import FileSystemEvent, FileSystemEventHandler

from prtrace import events as ev
from prtrace.hashing import text_hash
from prtrace.patches import make_patch
from prtrace.recorder.files.ignore import IgnoreRules
from prtrace.recorder.files.snapshots import Snapshot, read_snapshot
from prtrace.recorder.pipeline.emitter import EventEmitter
from prtrace.recorder.pipeline.provenance import author_for
from prtrace.recorder.pipeline.spool import Spool

if TYPE_CHECKING:
    from watchdog.observers.api import BaseObserver

    from prtrace.recorder.pipeline.privacy import Privacy

DEBOUNCE = 0.3
MAX_DELAY = 2.0
LSP_GRACE = 2.0
"""Seconds of the editor's stream (not of the watcher's clock) a change to a file open in
an editor waits for the editor's own account of it."""
LSP_POLL = 0.1
"""How often the spool is looked at while waiting for the LSP recorders."""
RECORDER_STALL = 30.0
"""A live recorder that reports nothing this long while asked is taken to be stuck."""


@dataclass(slots=True)
class _Change:
    kind: str  # created (after only) | changed (both) | deleted (before only)
    path: str
    t: float
    before: Snapshot | None = None
    after: Snapshot | None = None

    @property
    def old(self) -> Snapshot:
        """The file before a change or deletion."""
        assert self.before is not None, self
        return self.before

    @property
    def new(self) -> Snapshot:
        """The file after a change or creation."""
        assert self.after is not None, self
        return self.after


@dataclass(frozen=True, slots=True)
class _Seen:
    """A state of a file the watcher saw and has not yet recorded or set aside."""

    snap: Snapshot | None
    """None: the file was gone."""
    t: float
    """Wall-clock time of the notice: the event's time."""
    noticed: float
    """``time.monotonic()`` of the notice: compared with the LSP recorders' progress."""


def _same(a: Snapshot | None, b: Snapshot | None) -> bool:
    if a is None or b is None:
        return a is b
    return a.hash == b.hash and a.size == b.size


class FileWatcher:
    def __init__(
        self,
        root: Path,
        *,
        debounce: float = DEBOUNCE,
        max_delay: float = MAX_DELAY,
        lsp_grace: float = LSP_GRACE,
        on_git: Callable[[], None] | None = None,
        session_id: str | None = None,
    ) -> None:
        self.root = root
        self._privacy: Privacy | None = None
        self.debounce = debounce
        self.max_delay = max_delay
        self.lsp_grace = lsp_grace
        self.on_git = on_git
        self.session_id = session_id
        self.rules = IgnoreRules(root)
        self.baseline: dict[str, Snapshot] = {}
        self._cond = threading.Condition()
        self._dirty: dict[str, tuple[float, float]] = {}
        """path → (wall-clock, monotonic) time of its latest notice."""
        self._first = self._last = 0.0
        self._pending: dict[str, list[_Seen]] = {}
        """States seen but not settled, waiting for the LSP recorders (recording thread)."""
        self._recheck: float | None = None
        """When to look at the LSP recorders' progress again (monotonic)."""
        self._waiting_since: float | None = None
        self._stopping = False
        self._observer: BaseObserver | None = None
        self._thread: threading.Thread | None = None
        self._prefix = str(root) + os.sep

    def _snapshot(self, rel: str) -> Snapshot | None:
        """The file as it is recorded: text files redacted and hashed over the redacted
        text, like the editor's documents (recorder/pipeline/privacy.py), so the hashes agree
        with the LSP proxy's and the diffs replay over the redacted text."""
        snap = read_snapshot(self.root / rel)
        if snap is None or snap.text is None:
            return snap
        if self._privacy is None:
            from prtrace.recorder.pipeline.privacy import Privacy

            self._privacy = Privacy(self.root)
        text = self._privacy.document(snap.text)
        if text is snap.text or text == snap.text:
            return snap
        return Snapshot(text_hash(text), snap.size, text, snap.binary)

    # --- life cycle ----------------------------------------------------------

    def scan(self) -> int:
        """Read the baseline: every file that is not ignored. Returns how many."""
        for rel in self.rules.walk():
            snap = self._snapshot(rel)
            if snap is not None:
                self.baseline[rel] = snap
        return len(self.baseline)

    def start(self) -> FileWatcher:
        from watchdog.observers import Observer

        self.scan()
        self._observer = Observer()
        self._observer.schedule(_Handler(self), str(self.root), recursive=True)
        self._observer.start()
        self._thread = threading.Thread(target=self._run, name="prtrace-watch", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Stop watching; what is dirty is recorded first."""
        if self._observer is not None:
            self._observer.stop()
            self._observer.join(timeout)
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)

    # --- from watchdog's thread ----------------------------------------------------

    def _relative(self, path: str | bytes) -> str | None:
        if isinstance(path, bytes):
            path = os.fsdecode(path)
        if not path.startswith(self._prefix):
            return None
        return path[len(self._prefix) :].replace(os.sep, "/")

    def notice(self, path: str | bytes, is_dir: bool) -> None:
        rel = self._relative(path)
        if rel is None:
            return
        if rel.startswith(".git/") or rel == ".git":
            if self.on_git is not None and ("/logs/" in rel or rel.endswith("HEAD")):
                self.on_git()
            return
        if self.rules.ignored(rel, is_dir):
            return
        now = time.monotonic()
        with self._cond:
            if not self._dirty:
                self._first = now
            self._last = now
            self._dirty[rel] = (time.time(), now)
            self._cond.notify()

    # --- the recording thread ---------------------------------------------------------

    def _run(self) -> None:
        spool = Spool.for_workspace(self.root)
        emitter = EventEmitter(spool, source="fs", session_id=self.session_id)
        try:
            while True:
                batch = self._next_batch()
                if batch is None:
                    break
                try:
                    self._process(batch, emitter, spool)
                    emitter.flush()
                except Exception as exc:  # noqa: BLE001 - the watcher must outlive any one bad file
                    self._pending.clear()
                    self._recheck = None
                    sys.stderr.write(f"prtrace watch: {exc!r}\n")
            # Stopping: record what is still dirty or waiting for the editor.
            with self._cond:
                rest, self._dirty = self._dirty, {}
            if rest or self._pending:
                self._process(rest, emitter, spool, final=True)
                emitter.flush()
        finally:
            spool.close()

    def _next_batch(self) -> dict[str, tuple[float, float]] | None:
        """Wait until dirty paths have been quiet for ``debounce``, and take them; or
        until it is time to look at the LSP recorders again (then maybe no paths)."""
        with self._cond:
            while True:
                if self._stopping:
                    return None
                now = time.monotonic()
                recheck = self._recheck
                if self._dirty:
                    quiet = now - self._last >= self.debounce
                    late = now - self._first >= self.max_delay
                    if quiet or late:
                        batch, self._dirty = self._dirty, {}
                        self._recheck = None
                        return batch
                    wait = min(self.debounce - (now - self._last), self.max_delay)
                elif recheck is not None and recheck <= now:
                    self._recheck = None
                    return {}
                else:
                    wait = None
                if recheck is not None and wait is None:  # (a batch to come rechecks too)
                    wait = recheck - now
                self._cond.wait(None if wait is None else max(wait, 0.01))

    def _expand(self, batch: dict[str, tuple[float, float]]) -> dict[str, tuple[float, float]]:
        """Folders in the batch become the files in (and formerly in) them."""
        out: dict[str, tuple[float, float]] = {}
        for rel, t in batch.items():
            full = self.root / rel
            if full.is_dir() and not full.is_symlink():
                if rel.endswith(".gitignore"):
                    continue
                for child in self.rules.walk(rel):
                    out.setdefault(child, t)
            else:
                if rel not in self.baseline and not full.exists():
                    prefix = rel + "/"
                    for known in [k for k in self.baseline if k.startswith(prefix)]:
                        out.setdefault(known, t)
                out[rel] = t
            if rel == ".gitignore" or rel.endswith("/.gitignore"):
                self.rules.load_folder(rel.rpartition("/")[0])
        return out

    def _process(
        self,
        batch: dict[str, tuple[float, float]],
        emitter: EventEmitter,
        spool: Spool,
        *,
        final: bool = False,
    ) -> None:
        """Read what the batch's files hold now; record the states that can be judged.

        All pending states are settled together or not at all, so that a move
        (a file gone, one new with its content) is still one round.
        """
        for rel, (t, noticed) in sorted(self._expand(batch).items(), key=lambda i: (i[1], i[0])):
            self._observe(rel, self._snapshot(rel), t, noticed)
        if not self._pending:
            self._waiting_since = None
            return
        known = {rel: spool.known_hash(rel) for rel in self._pending}
        if not final and self._must_wait(spool, known):
            self._recheck = time.monotonic() + LSP_POLL
            return
        self._waiting_since = None
        changes: list[_Change] = []
        settled = {
            rel: self._settle(rel, seen, known[rel], changes) for rel, seen in self._pending.items()
        }
        self._pending.clear()
        for rel, snap in settled.items():
            if snap is None:
                self.baseline.pop(rel, None)
            else:
                self.baseline[rel] = snap
        changes.sort(key=lambda c: (c.t, c.path))
        self._emit(changes, emitter, spool)

    def _observe(self, rel: str, snap: Snapshot | None, t: float, noticed: float) -> None:
        """Keep ``snap`` as the file's next state, unless it is the one it had."""
        seen = self._pending.get(rel)
        if _same(seen[-1].snap if seen else self.baseline.get(rel), snap):
            return
        self._pending.setdefault(rel, []).append(_Seen(snap, t, noticed))

    @staticmethod
    def _unconfirmed(seen: list[_Seen], known: tuple[str | None, str | None] | None) -> int:
        """Index of the first state after the last one the trace holds already."""
        if known is not None and known[0] is not None:
            for i in range(len(seen) - 1, -1, -1):
                snap = seen[i].snap
                if snap is not None and snap.hash == known[0]:
                    return i + 1
        return 0

    def _must_wait(
        self, spool: Spool, known: dict[str, tuple[str | None, str | None] | None]
    ) -> bool:
        """Could an LSP recorder that has not caught up yet still claim a pending state?"""
        now = time.monotonic()
        since = self._waiting_since if self._waiting_since is not None else now
        recorders = [
            r
            for r in spool.lsp_progress()
            if r.alive() and now - max(r.updated_at, since) < RECORDER_STALL
        ]
        if not recorders:
            return False
        wanted = 0.0
        for rel, seen in self._pending.items():
            last = known[rel]
            states = [s for s in seen[self._unconfirmed(seen, last) :] if s.snap is not None]
            if not states:
                continue  # the trace holds it already, or it is gone (no recorder says so)
            in_editor = last is not None and last[1] == "lsp"
            need = states[-1].noticed + (self.lsp_grace if in_editor else 0.0)
            if any(r.seen < need or r.editing == rel for r in recorders):
                wanted = max(wanted, need, now)
        if not wanted:
            return False
        spool.want_progress(wanted)  # the recorders report while they are behind it
        self._waiting_since = since
        return True

    def _settle(
        self,
        rel: str,
        seen: list[_Seen],
        known: tuple[str | None, str | None] | None,
        changes: list[_Change],
    ) -> Snapshot | None:
        """Add the changes of one file's pending states, in order; return its new baseline.

        The states up to the last one the trace holds already (the editor's
        saves) are passed over; the rest are someone else's changes, each from
        the state before it.
        """
        start = self._unconfirmed(seen, known)
        before = seen[start - 1].snap if start else self.baseline.get(rel)
        for state in seen[start:]:
            after = state.snap
            if after is None:
                if before is not None:
                    changes.append(_Change("deleted", rel, state.t, before))
            else:
                kind = "changed" if before is not None else "created"
                changes.append(_Change(kind, rel, state.t, before, after))
            before = after
        return before

    def _emit(self, changes: list[_Change], emitter: EventEmitter, spool: Spool) -> None:
        created = {c.new.hash: c for c in changes if c.kind == "created" and c.new.hash}
        moved_from: dict[str, _Change] = {}
        for change in changes:
            if change.kind == "deleted" and change.old.hash in created:
                target = created.pop(change.old.hash)
                moved_from[target.path] = change
        for change in changes:
            path = change.path
            if change.kind == "deleted":
                if any(m is change for m in moved_from.values()):
                    continue
                emitter.emit(
                    ev.FileDeleted,
                    change.t,
                    path=path,
                    before_hash=change.old.hash,
                    author=author_for(spool, path, change.t),
                )
            elif path in moved_from:
                source = moved_from[path]
                emitter.emit(
                    ev.FileMoved,
                    change.t,
                    path=path,
                    from_path=source.path,
                    hash=change.new.hash,
                    author=author_for(spool, path, change.t, paths=(source.path,)),
                )
            elif change.kind == "created":
                after = change.new
                emitter.emit(
                    ev.FileCreated,
                    change.t,
                    path=path,
                    hash=after.hash,
                    size=after.size,
                    binary=after.binary,
                    patch_unified=None if after.text is None else make_patch("", after.text, path),
                    author=author_for(spool, path, change.t),
                )
            else:
                before, after = change.old, change.new
                patch = None
                if before.text is not None and after.text is not None:
                    patch = make_patch(before.text, after.text, path)
                emitter.emit(
                    ev.FileChanged,
                    change.t,
                    path=path,
                    before_hash=before.hash,
                    after_hash=after.hash,
                    size=after.size,
                    binary=after.binary,
                    patch_unified=patch,
                    author=author_for(spool, path, change.t),
                )


class _Handler(FileSystemEventHandler):
    """The watchdog event handler: only marks paths dirty (cheap, never blocks long)."""

    def __init__(self, watcher: FileWatcher) -> None:
        super().__init__()
        self.watcher = watcher

    def dispatch(self, event: FileSystemEvent) -> None:
        kind = event.event_type
        if kind in ("opened", "closed_no_write"):
            return
        self.watcher.notice(event.src_path, event.is_directory)
        dest = getattr(event, "dest_path", "")
        if dest:
            self.watcher.notice(dest, event.is_directory)
