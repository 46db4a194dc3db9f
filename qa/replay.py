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
from prtrace.git import working_tree_patch
from prtrace.qa.checkout import QA_CONFIG, Worktree
from prtrace.replay import replay_events


def rebuild_patch(tree: Worktree, events: Iterable[Event]) -> str:
    """The final patch the edits amount to: the worktree against its commit, made
    as ``record stop`` makes it (:func:`prtrace.git.working_tree_patch`).

    Leaves the worktree reset, so the patch is then applied like any other.
    """
    try:
        replay_events(tree.path, events)
        tree.restore_gitfile()
        patch = working_tree_patch(tree.path, tree.commit, config=QA_CONFIG)
    finally:
        tree.reset()
    return patch
