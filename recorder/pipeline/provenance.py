"""Who made a change: the activities that are changing files, and the rule that picks one.

Recorders that *cause* changes say so in the spool before the change can happen
(``activities``, see :mod:`prtrace.recorder.pipeline.spool`): ``prtrace run``
when its command starts, the daemon's agent recorder when an agent's
PreToolUse arrives (the hook runs before the tool, and the agent waits for
it). Each activity carries the event id of the event that will describe it — a
``terminal_command`` or an ``agent_tool_call`` — reserved up front
(:meth:`~prtrace.recorder.pipeline.emitter.EventEmitter.reserve_id`), so the change can
point at it whichever is written first.

The file watcher asks :func:`author_for` for each change it records, with the
time it noticed the change. The rule (docs/recorder.md, "Who wrote each change"):

1. an agent's tool call that names the path (Write, Edit) and whose window
   ``[PreToolUse, PostToolUse + SLACK]`` holds the time → that agent;
2. else the innermost (latest started) activity for any path whose window holds
   the time — an agent's Bash call, a ``prtrace run`` command → its author;
3. else ``unknown``.

Editors' changes never reach this rule: the LSP recorder's ``edit`` events are
``human`` by construction, and the watcher drops a change the editor already
recorded. An activity that never ends (a killed ``prtrace run``) stops counting
once its process is gone, or after :data:`MAX_OPEN` seconds.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable

import msgspec

from prtrace import events as ev
from prtrace.recorder.pipeline.spool import Spool

SLACK = 0.5
"""Seconds after an activity ends in which a change noticed is still its own: the
kernel's notice can trail the write, and a PostToolUse can come a moment late."""
MAX_OPEN = 600.0
"""An activity still open after this many seconds is not believed any more."""

UNKNOWN = ev.Author(kind="unknown")
HUMAN = ev.Author(kind="human")


def _alive(pid: int | None) -> bool:
    if pid is None:
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def begin(
    spool: Spool,
    event_id: str,
    author: ev.Author,
    start: float,
    *,
    paths: Iterable[str] | None = None,
    pid: int | None = None,
) -> None:
    """Say that ``author`` may change ``paths`` (None: any file) from ``start`` on."""
    spool.put_activity(
        event_id,
        msgspec.json.encode(author).decode(),
        start=start,
        paths=None if paths is None else json.dumps(sorted(set(paths))),
        pid=pid,
    )


def end(spool: Spool, event_id: str, t: float, *, paths: Iterable[str] | None = None) -> None:
    """The activity is over at ``t`` (``paths``: what it turned out to write)."""
    spool.end_activity(event_id, t, paths=None if paths is None else json.dumps(sorted(set(paths))))


def author_for(spool: Spool, path: str, t: float, *, paths: Iterable[str] = ()) -> ev.Author:
    """Who made the change to ``path`` (and, for a move, ``paths``) noticed at ``t``."""
    wanted = {path, *paths}
    general: ev.Author | None = None
    for event_id, author_json, paths_json, start, finish, pid in spool.activities_at(
        t, slack=SLACK
    ):
        if finish is None and (t - start > MAX_OPEN or not _alive(pid)):
            continue
        author = msgspec.json.decode(author_json, type=ev.Author)
        if author.event_id is None:
            author = msgspec.structs.replace(author, event_id=event_id)
        if paths_json is not None:
            if wanted & set(json.loads(paths_json)):
                return author
        elif general is None:
            general = author
    return general or UNKNOWN
