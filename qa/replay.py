"""Rebuilding the final patch from a trace's edit events.

When a trace has no ``artifacts.final_patch``, QA replays the recorded edits in
order on the checkout and takes the diff. Every edit names the hash of the
file before and after it (:mod:`prtrace.hashing`): a mismatch means the trace
does not describe this repository at this commit, and the replay stops there
with the event's id rather than guessing. Applying the events is
:mod:`prtrace.replay`'s (``prtrace replay`` does the same, event by event).
"""

from __future__ import annotations

from collections.abc import Iterable

from prtrace.events import Event
from prtrace.qa.checkout import Worktree, git
from prtrace.replay import ReplayError, replay_events

__all__ = ["ReplayError", "rebuild_patch", "replay_events"]


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
