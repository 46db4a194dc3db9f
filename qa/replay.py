"""Rebuilding the final patch from a trace's edit events.

When a trace has no ``artifacts.final_patch``, QA replays the recorded edits in
order on the checkout and takes the diff. Every edit names the hash of the
file before and after it (:mod:`prtrace.hashing`): a mismatch means the trace
does not describe this repository at this commit, and the replay stops there
with the event's id rather than guessing. Each single-file diff is applied by
:mod:`prtrace.patches`, the exact applier replay and the demo share.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from prtrace.events import Edit, Event, FileCreated, FileDeleted, FileMoved
from prtrace.hashing import text_hash
from prtrace.patches import PatchError
from prtrace.patches import apply_patch as apply_unified
from qa.checkout import Worktree, git
from qa.patching import resolve_inside


class ReplayError(RuntimeError):
    """An edit did not replay: the message names the event."""


def _read(path: Path) -> str:
    if not path.exists():
        return ""
    with open(path, encoding="utf-8", errors="surrogatepass", newline="") as f:
        return f.read()


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", errors="surrogatepass", newline="") as f:
        f.write(text)


def replay_events(root: Path, events: Iterable[Event]) -> int:
    """Apply the trace's edits (and file creations, deletions, moves) to ``root``.

    Returns how many events changed the tree. Paths are refused like a patch's
    (``..``, ``.git``, symlinks out) before anything is written.
    """
    changed = 0
    for index, event in enumerate(events):
        where = f"events[{index}] (id {event.id})"
        if isinstance(event, Edit):
            target = resolve_inside(root, event.path)
            before = _read(target)
            if text_hash(before) != event.before_hash:
                raise ReplayError(f"{where}: {event.path} does not match before_hash")
            try:
                after = apply_unified(before, event.patch_unified)
            except PatchError as exc:
                raise ReplayError(f"{where}: {exc}") from exc
            if text_hash(after) != event.after_hash:
                raise ReplayError(f"{where}: {event.path} does not match after_hash after the edit")
            _write(target, after)
            changed += 1
        elif isinstance(event, FileCreated) and event.patch_unified and not event.binary:
            target = resolve_inside(root, event.path)
            try:
                after = apply_unified("", event.patch_unified)
            except PatchError as exc:
                raise ReplayError(f"{where}: {exc}") from exc
            if event.hash and text_hash(after) != event.hash:
                raise ReplayError(f"{where}: {event.path} does not match its hash")
            _write(target, after)
            changed += 1
        elif isinstance(event, FileDeleted):
            target = resolve_inside(root, event.path)
            if target.is_file():
                if event.before_hash and text_hash(_read(target)) != event.before_hash:
                    raise ReplayError(f"{where}: {event.path} does not match before_hash")
                target.unlink()
                changed += 1
        elif isinstance(event, FileMoved):
            source = resolve_inside(root, event.from_path)
            target = resolve_inside(root, event.path)
            if source.exists():
                target.parent.mkdir(parents=True, exist_ok=True)
                source.rename(target)
                changed += 1
    return changed


def rebuild_patch(tree: Worktree, events: Iterable[Event]) -> str:
    """The final patch the edits amount to, as ``git diff`` of the worktree.

    Leaves the worktree reset, so the patch is then applied like any other.
    """
    try:
        replay_events(tree.path, events)
        git("add", "--all", cwd=tree.path)
        patch = git("diff", "--cached", "--binary", "--no-color", "--no-ext-diff", "HEAD",
                    cwd=tree.path).stdout
    finally:
        tree.reset()
    return patch
