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
  the change is already in the trace: the baseline moves on silently. If the
  file is open in an editor (its last hash came from the proxy) and differs,
  the watcher waits :data:`LSP_GRACE` more seconds for the proxy's event
  before deciding it was someone else.
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
from prtrace.recorder.pipeline.spool import Spool

if TYPE_CHECKING:
    from watchdog.observers.api import BaseObserver

    from prtrace.recorder.pipeline.privacy import Privacy

DEBOUNCE = 0.3
MAX_DELAY = 2.0
LSP_GRACE = 2.0


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
        self._dirty: dict[str, float] = {}
        self._first = self._last = 0.0
        self._deferred: dict[str, tuple[float, float]] = {}
        """path → (due monotonic time, event time): waiting for the LSP proxy."""
        self._graced: set[str] = set()
        """Paths that already waited once (recording thread only)."""
        self._stopping = False
        self._observer: BaseObserver | None = None
        self._thread: threading.Thread | None = None
        self.recorded = 0
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
            self._dirty[rel] = time.time()
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
                    sys.stderr.write(f"prtrace watch: {exc!r}\n")
            # Stopping: record what is still dirty or waiting for the editor.
            with self._cond:
                rest = {**{p: t for p, (_, t) in self._deferred.items()}, **self._dirty}
                self._dirty, self._deferred = {}, {}
            if rest:
                self._process(rest, emitter, spool, final=True)
                emitter.flush()
        finally:
            spool.close()

    def _next_batch(self) -> dict[str, float] | None:
        """Wait until dirty paths have been quiet for ``debounce``; take them."""
        with self._cond:
            while True:
                if self._stopping:
                    return None
                now = time.monotonic()
                due = {p: t for p, (d, t) in self._deferred.items() if d <= now}
                if self._dirty:
                    quiet = now - self._last >= self.debounce
                    late = now - self._first >= self.max_delay
                    if quiet or late:
                        batch = {**due, **self._dirty}
                        self._dirty = {}
                        for p in due:
                            self._deferred.pop(p, None)
                        return batch
                    wait = min(self.debounce - (now - self._last), self.max_delay)
                elif due:
                    for p in due:
                        self._deferred.pop(p, None)
                    return due
                else:
                    wait = None
                if self._deferred:
                    next_due = min(d for d, _ in self._deferred.values()) - now
                    wait = next_due if wait is None else min(wait, next_due)
                self._cond.wait(None if wait is None else max(wait, 0.01))

    def _expand(self, batch: dict[str, float]) -> dict[str, float]:
        """Folders in the batch become the files in (and formerly in) them."""
        out: dict[str, float] = {}
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
        self, batch: dict[str, float], emitter: EventEmitter, spool: Spool, *, final: bool = False
    ) -> None:
        changes: list[_Change] = []
        for rel, t in sorted(self._expand(batch).items(), key=lambda item: (item[1], item[0])):
            before = self.baseline.get(rel)
            after = self._snapshot(rel)
            if after is None:
                if before is not None:
                    changes.append(_Change("deleted", rel, t, before))
                continue
            if before is not None and before.hash == after.hash and before.size == after.size:
                continue
            known = spool.known_hash(rel)
            if known is not None and known[0] is not None and known[0] == after.hash:
                self.baseline[rel] = after  # the editor's edit is in the trace already
                continue
            graced = rel in self._graced
            self._graced.discard(rel)
            if known is not None and known[1] == "lsp" and not final and not graced:
                self._graced.add(rel)
                with self._cond:
                    self._deferred[rel] = (time.monotonic() + self.lsp_grace, t)
                    self._cond.notify()
                continue
            changes.append(_Change("changed" if before else "created", rel, t, before, after))
        self._emit(changes, emitter)

    def _emit(self, changes: list[_Change], emitter: EventEmitter) -> None:
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
                del self.baseline[path]
                emitter.emit(ev.FileDeleted, change.t, path=path, before_hash=change.old.hash)
            elif path in moved_from:
                source = moved_from[path]
                self.baseline.pop(source.path, None)
                self.baseline[path] = change.new
                emitter.emit(
                    ev.FileMoved,
                    change.t,
                    path=path,
                    from_path=source.path,
                    hash=change.new.hash,
                )
            elif change.kind == "created":
                after = change.new
                self.baseline[path] = after
                emitter.emit(
                    ev.FileCreated,
                    change.t,
                    path=path,
                    hash=after.hash,
                    size=after.size,
                    binary=after.binary,
                    patch_unified=None if after.text is None else make_patch("", after.text, path),
                )
            else:
                before, after = change.old, change.new
                self.baseline[path] = after
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
                )
            self.recorded += 1


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
