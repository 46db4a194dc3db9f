"""The trace as the judge sees it: one tagged line (or block) per event, within a token budget.

Each event becomes an :class:`Entry` with up to three renderings, richest
first (``full`` → ``short`` → ``minimal``), every one starting with the
event's id in brackets so the judge can cite it. Entries have a priority:

* 0 — must keep: thoughts, edits and other patches, failing commands (and so
  every failed attempt); shortened last, dropped only if even their minimal
  lines exceed the budget;
* 1 — useful: passing commands, diagnostics, navigation, git;
* 2 — noise: opening, closing, saving files.

:func:`compact` starts from every entry at full detail and, while the total
is over the budget, runs the phases in :data:`_PHASES` in order; inside a
phase it degrades the entries that save the most first, so detail goes where
it is cheapest to lose. Consecutive dropped events become one explicit
``… N events elided …`` line; text cut inside an event says how many lines
or characters went. All text passes through :func:`prtrace.redaction.redact`, the
redaction the recorder and the backend use (typed placeholders such as
``<redacted:aws-access-key>``: the judge sees that a secret was handled, not the
secret): the last net before anything is sent to a model.

Tokens are estimated (:func:`estimate_tokens`) at 3.3 characters a token,
which over-counts for English and code with common tokenizers: a view that
fits by this count fits the model.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from prtrace import events as ev
from prtrace.redaction import redact

CHARS_PER_TOKEN = 3.3
LINE_WIDTH = 240
"""Longest line of output or patch shown; longer ones are cut with a marker."""

# (thought chars, patch lines, output head lines, output tail lines) per level.
_LIMITS = {0: (2000, 60, 6, 30), 1: (400, 12, 0, 8), 2: (80, 0, 0, 0)}
_PHASES: tuple[tuple[int, int | None], ...] = (
    (2, None),  # drop noise
    (1, 1),  # shorten useful
    (0, 1),  # shorten must-keep
    (1, None),  # drop useful
    (0, 2),  # must-keep to one line
    (0, None),  # last resort: drop must-keep (oldest first)
)


def estimate_tokens(text: str) -> int:
    """A conservative token count for budgeting (no tokenizer needed)."""
    return math.ceil(len(text) / CHARS_PER_TOKEN)


@dataclass
class Entry:
    """One event in the judge's view."""

    event_id: str
    kind: str
    priority: int
    renderings: list[str]
    """Richest first; each starts with ``[event_id]``."""
    level: int = 0
    dropped: bool = False
    _tokens: dict[int, int] = field(default_factory=dict)

    def tokens(self, level: int | None = None) -> int:
        level = self.level if level is None else level
        if level not in self._tokens:
            self._tokens[level] = estimate_tokens(self.renderings[level]) + 1
        return self._tokens[level]

    def degrade(self, target: int | None) -> int:
        """Move to ``target`` (None drops); return the tokens saved."""
        before = self.tokens()
        if target is None:
            self.dropped = True
            return before
        target = min(target, len(self.renderings) - 1)
        if target <= self.level:
            return 0
        self.level = target
        return before - self.tokens()


@dataclass
class CompactView:
    """The rendered view and what it cost to fit it."""

    text: str
    tokens: int
    events_total: int
    events_shown: int
    events_shortened: int
    events_elided: int
    must_keep_dropped: int
    elided_by_type: dict[str, int]
    shown_ids: frozenset[str]
    all_ids: frozenset[str]


def compact(events: Sequence[Any], budget: int) -> CompactView:
    """Render ``events`` as tagged lines in at most ``budget`` tokens (by :func:`estimate_tokens`)."""
    entries = build_entries(events)
    effective = budget
    for _ in range(8):
        total = _total(entries)
        for priority, target in _PHASES:
            if total <= effective:
                break
            total = _run_phase(entries, priority, target, total, effective)
        text = _render(entries, len(events))
        tokens = estimate_tokens(text)
        if tokens <= budget:
            break
        # The header and the elision markers cost too: aim lower by what they overshot.
        effective -= tokens - budget
    # Last resort (a budget smaller than the must-keeps' one-line forms): drop the least
    # important, oldest first, until it fits.
    kept = sorted((e for e in entries if not e.dropped), key=lambda e: -e.priority)
    while tokens > budget and kept:
        excess = tokens - budget
        while excess > 0 and kept:
            excess -= kept.pop(0).degrade(None)
        text = _render(entries, len(events))
        tokens = estimate_tokens(text)
    elided = Counter(e.kind for e in entries if e.dropped)
    return CompactView(
        text=text,
        tokens=tokens,
        events_total=len(entries),
        events_shown=sum(1 for e in entries if not e.dropped),
        events_shortened=sum(1 for e in entries if not e.dropped and e.level > 0),
        events_elided=sum(elided.values()),
        must_keep_dropped=sum(1 for e in entries if e.dropped and e.priority == 0),
        elided_by_type=dict(elided),
        shown_ids=frozenset(e.event_id for e in entries if not e.dropped),
        all_ids=frozenset(e.event_id for e in entries),
    )


def _total(entries: list[Entry]) -> int:
    return sum(e.tokens() for e in entries if not e.dropped)


def _run_phase(
    entries: list[Entry], priority: int, target: int | None, total: int, budget: int
) -> int:
    candidates = [e for e in entries if e.priority == priority and not e.dropped]
    if target is None and priority == 0:
        order = candidates  # the oldest must-keeps go first
    else:

        def saving(entry: Entry) -> int:
            if target is None:
                return entry.tokens()
            return entry.tokens() - entry.tokens(min(target, len(entry.renderings) - 1))

        order = sorted(candidates, key=saving, reverse=True)
    for entry in order:
        if total <= budget:
            break
        total -= entry.degrade(target)
    return total


def _render(entries: list[Entry], count: int) -> str:
    shown = sum(1 for e in entries if not e.dropped)
    lines = [
        (
            f"({count} events; {shown} shown, {count - shown} elided; "
            "[id] tags each event, '… N events elided …' marks a gap)"
        )
    ]
    gap = 0
    for entry in entries:
        if entry.dropped:
            gap += 1
            continue
        if gap:
            lines.append(_gap(gap))
            gap = 0
        lines.append(entry.renderings[entry.level])
    if gap:
        lines.append(_gap(gap))
    return "\n".join(lines)


def _gap(n: int) -> str:
    return f"… {n} event{'s' if n != 1 else ''} elided …"


# --- rendering events -------------------------------------------------------------


def build_entries(events: Sequence[Any]) -> list[Entry]:
    """One :class:`Entry` per event, in order, with failed attempts annotated."""
    if not events:
        return []
    start = events[0].t
    undone_by = _undone_edits(events)
    entries = []
    for event in events:
        kind = type(event).__struct_config__.tag
        render = _RENDERERS.get(kind, _render_other)
        priority, bodies = render(event)
        head = f"[{event.id}] {_clock(event.t, start)} "
        note = _undo_note(event, undone_by)
        renderings = []
        for level, body in enumerate(bodies):
            first, newline, rest = body.partition("\n")
            if level and level == len(bodies) - 1:  # the one-line form: no clock either
                renderings.append(f"[{event.id}] {first}{note}")
            else:
                renderings.append(head + first + note + newline + rest)
        entries.append(
            Entry(event_id=event.id, kind=kind, priority=priority, renderings=renderings)
        )
    return entries


def _clock(t: datetime, start: datetime) -> str:
    seconds = max(0, int((t - start).total_seconds()))
    return f"+{seconds // 3600:d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


_PATCH_KINDS = ("edit", "file_created", "file_changed")


def _undone_edits(events: Sequence[Any]) -> dict[str, tuple[str, str]]:
    """Edits later undone: event id → (id of the event that undid it, first undone id).

    An edit whose ``after_hash`` is an earlier ``before_hash`` of the same file
    takes the file back to that state, so every edit in between was a failed
    attempt — worth telling the judge outright.
    """
    undone: dict[str, tuple[str, str]] = {}
    history: dict[str, list[tuple[str, str]]] = {}  # path → [(before_hash, event id)]
    for event in events:
        kind = type(event).__struct_config__.tag
        if kind not in _PATCH_KINDS:
            continue
        before = getattr(event, "before_hash", None)
        after = getattr(event, "after_hash", None) or getattr(event, "hash", None)
        past = history.setdefault(event.path, [])
        for i, (old_hash, _old_id) in enumerate(past):
            if after and old_hash == after:
                first = past[i][1]
                for _h, undone_id in past[i:]:
                    undone[undone_id] = (event.id, first)
                undone[event.id] = (event.id, first)
                del past[i:]
                break
        else:
            if before:
                past.append((before, event.id))
    return undone


def _undo_note(event: Any, undone_by: dict[str, tuple[str, str]]) -> str:
    found = undone_by.get(event.id)
    if found is None:
        return ""
    by, first = found
    if by == event.id:
        return f"  ⟲ UNDOES the edits since [{first}] (a failed attempt)"
    return f"  ✗ later undone by [{by}]"


def _cut(text: str, limit: int) -> str:
    text = " ".join(text.split()) if "\n" in text else text
    if len(text) <= limit:
        return text
    return text[:limit] + f"… [{len(text) - limit} chars elided]"


def _excerpt(text: str, head: int, tail: int) -> list[str]:
    """The first ``head`` and last ``tail`` lines, redacted, each at most LINE_WIDTH wide."""
    lines = text.splitlines()
    if head + tail == 0 or not lines:
        return []
    if len(lines) > head + tail:
        kept = "\n".join(lines[:head])
        rest = "\n".join(lines[len(lines) - tail :]) if tail else ""
        shown = redact(kept).splitlines() if head else []
        shown.append(f"… [{len(lines) - head - tail} lines elided] …")
        shown += redact(rest).splitlines() if tail else []
    else:
        shown = redact("\n".join(lines)).splitlines()
    return [
        line
        if len(line) <= LINE_WIDTH
        else line[:LINE_WIDTH] + f"… [+{len(line) - LINE_WIDTH} chars]"
        for line in shown
    ]


def _block(header: str, lines: list[str]) -> str:
    return header + "".join("\n    " + line for line in lines)


def _levels(make: Any) -> list[str]:
    """``make(level)`` for each level, without repeats (a short event has one rendering)."""
    out: list[str] = []
    for level in _LIMITS:
        text = make(level)
        if not out or text != out[-1]:
            out.append(text)
    return out


def _render_thought(e: ev.Thought) -> tuple[int, list[str]]:
    tags = f" ({', '.join(e.tags)})" if e.tags else ""
    return 0, _levels(lambda lv: f"THOUGHT{tags}: " + redact(_cut(e.raw, _LIMITS[lv][0])))


def _diffstat(patch: str) -> str:
    lines = patch.splitlines()
    added = sum(1 for line in lines if line.startswith("+") and not line.startswith("+++"))
    removed = sum(1 for line in lines if line.startswith("-") and not line.startswith("---"))
    return f"+{added} -{removed}"


def _patch_body(patch: str, level: int) -> list[str]:
    """The hunks of a unified diff (the ---/+++ header is implied by the path)."""
    lines = [
        line for line in patch.splitlines() if not line.startswith(("--- ", "+++ ", "diff --git"))
    ]
    return _excerpt("\n".join(lines), _LIMITS[level][1], 0)


def _by(e: Any) -> str:
    """Who made a change, when it was not the developer (``author``, docs/recorder.md)."""
    author = getattr(e, "author", None)
    if author is None or author.kind == "human":
        return ""
    if author.kind == "agent":
        via = f", tool call [{author.event_id}]" if author.event_id else ""
        return f" — BY AI AGENT {author.agent or '?'}{via}"
    if author.kind == "command":
        return f" — by the command [{author.event_id}]" if author.event_id else " — by a command"
    return ""


def _patch_event(label: str, e: Any, patch: str | None, extra: str = "") -> list[str]:
    def make(level: int) -> str:
        stat = f" {_diffstat(patch)}" if patch else ""
        header = f"{label} {redact(e.path)}{stat}{extra if level < 2 else ''}{_by(e)}"
        return _block(header, _patch_body(patch, level)) if patch else header

    return _levels(make)


def _render_edit(e: ev.Edit) -> tuple[int, list[str]]:
    return 0, _patch_event("EDIT", e, e.patch_unified, f" ({e.op}, {e.changes} change(s))")


def _render_file_created(e: ev.FileCreated) -> tuple[int, list[str]]:
    return 0, _patch_event("FILE CREATED", e, e.patch_unified)


def _render_file_changed(e: ev.FileChanged) -> tuple[int, list[str]]:
    priority = 0 if e.patch_unified else 1
    return priority, _patch_event("FILE CHANGED (outside the editor)", e, e.patch_unified)


def _render_command(e: ev.TerminalCommand) -> tuple[int, list[str]]:
    failed = e.exit_code not in (0, None)
    status = "exit ?" if e.exit_code is None else f"exit {e.exit_code}"
    if failed:
        status = f"FAILED {status}"
    took = f", {e.duration_ms / 1000:.1f}s" if e.duration_ms is not None else ""
    output = e.stdout if not e.stderr else (e.stdout + ("\n" if e.stdout else "") + e.stderr)

    def make(level: int) -> str:
        _, _, head, tail = _LIMITS[level]
        header = f"$ {redact(_cut(e.cmd, 300 if level < 2 else 100))}  → {status}"
        header += took if level < 2 else ""
        if e.truncated:
            header += " (output truncated by the recorder)"
        return _block(header, _excerpt(output, head, tail) if output.strip() else [])

    return (0 if failed else 1), _levels(make)


def _render_diagnostics(e: ev.Diagnostics) -> tuple[int, list[str]]:
    counts = f"{e.errors} error(s), {e.warnings} warning(s)"

    def make(level: int) -> str:
        shown = {0: 5, 1: 1, 2: 0}[level]
        items = [
            f"line {d.range.start.line + 1}: {d.severity}: {redact(_cut(d.message, 200))}"
            for d in e.items[:shown]
        ]
        if len(e.items) > shown and shown:
            items.append(f"… [{len(e.items) - shown} more]")
        return _block(f"DIAGNOSTICS {e.path}: {counts}", items)

    return 1, _levels(make)


def _targets(targets: list[ev.Location], most: int = 3) -> str:
    shown = ", ".join(f"{t.path}:{t.line}" for t in targets[:most])
    more = f" (+{len(targets) - most} more)" if len(targets) > most else ""
    return shown + more


def _render_definition(e: ev.GoToDefinition) -> tuple[int, list[str]]:
    what = e.symbol or "?"
    where = f" → {_targets(e.targets)}" if e.targets else " → nothing found"
    return 1, [f"GO TO {e.kind.upper()} {what} (in {e.path}){where}", f"GO TO {e.kind} {what}"]


def _render_references(e: ev.FindReferences) -> tuple[int, list[str]]:
    what = e.symbol or "?"
    return 1, [
        f"FIND REFERENCES {what} (in {e.path}): {e.count} in {len(e.files)} file(s)"
        + (f": {_targets(e.targets)}" if e.targets else ""),
        f"FIND REFERENCES {what}: {e.count}",
    ]


def _render_rename(e: ev.Rename) -> tuple[int, list[str]]:
    return 1, [
        f"RENAME {e.symbol or '?'} → {e.new_name} ({e.edits} edit(s) in {len(e.files)} file(s))"
    ]


def _render_code_action(e: ev.CodeAction) -> tuple[int, list[str]]:
    return 1, [f"CODE ACTION {redact(e.title)} in {e.path}"]


def _render_noise(e: Any) -> tuple[int, list[str]]:
    label = type(e).__struct_config__.tag.replace("_", " ").upper()
    return 2, [f"{label} {e.path}"]


def _render_file_moved(e: ev.FileMoved) -> tuple[int, list[str]]:
    return 1, [f"FILE MOVED {e.from_path} → {e.path}{_by(e)}"]


def _render_file_deleted(e: ev.FileDeleted) -> tuple[int, list[str]]:
    return 1, [f"FILE DELETED {e.path}{_by(e)}"]


# The AI agent's own actions are marked apart from the developer's: every line starts
# with "AI AGENT <name>", so the judge can tell what the developer did from what the
# agent did for them.


def _render_agent_prompt(e: ev.AgentPrompt) -> tuple[int, list[str]]:
    return 0, _levels(
        lambda lv: f"DEVELOPER → AI AGENT {e.agent}: " + redact(_cut(e.prompt, _LIMITS[lv][0]))
    )


def _render_agent_tool(e: ev.AgentToolCall) -> tuple[int, list[str]]:
    failed = e.status != "ok" or e.exit_code not in (0, None)
    status = e.status if e.exit_code is None else f"{e.status}, exit {e.exit_code}"

    def make(level: int) -> str:
        _, _, head, tail = _LIMITS[level]
        files = f" files: {', '.join(e.files)}" if e.files else ""
        header = f"AI AGENT {e.agent} {e.tool}: {redact(_cut(e.input, 300 if level < 2 else 100))}"
        header += f"  → {status}{files if level < 2 else ''}"
        return _block(
            header, _excerpt(e.output, head, tail) if e.output.strip() and level < 2 else []
        )

    return (0 if failed else 1), _levels(make)


def _render_agent_session(e: ev.AgentSession) -> tuple[int, list[str]]:
    model = f" ({e.model})" if e.model else ""
    return 2, [f"AI AGENT {e.agent} SESSION {e.phase.upper()}{model}"]


def _render_commit(e: ev.CommitMade) -> tuple[int, list[str]]:
    short = (e.hash or "?")[:12]  # the seed's dialect may leave the hash out
    return 1, [
        f"GIT COMMIT {short}: {redact(_cut(e.message, 300))} ({len(e.files)} file(s))",
        f"GIT COMMIT {short}",
    ]


def _render_other(e: Any) -> tuple[int, list[str]]:
    """Git and anything new: the tag and its short fields."""
    import msgspec

    fields = msgspec.structs.asdict(e)
    for name in ("id", "t", "session_id", "source"):
        fields.pop(name, None)
    parts = [
        f"{k}={redact(_cut(str(v), 120))}" for k, v in fields.items() if v not in (None, "", [])
    ]
    return 1, [f"{type(e).__struct_config__.tag.upper()} " + " ".join(parts)]


_RENDERERS: dict[str, Any] = {
    "thought": _render_thought,
    "edit": _render_edit,
    "file_created": _render_file_created,
    "file_changed": _render_file_changed,
    "terminal_command": _render_command,
    "diagnostics": _render_diagnostics,
    "go_to_definition": _render_definition,
    "find_references": _render_references,
    "rename": _render_rename,
    "code_action": _render_code_action,
    "file_opened": _render_noise,
    "file_closed": _render_noise,
    "file_saved": _render_noise,
    "file_moved": _render_file_moved,
    "file_deleted": _render_file_deleted,
    "commit_made": _render_commit,
    "agent_prompt": _render_agent_prompt,
    "agent_tool_call": _render_agent_tool,
    "agent_session": _render_agent_session,
}
