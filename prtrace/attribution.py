"""Who wrote each added line of the final patch, by replaying the trace's changes.

Every change event (``edit``, ``file_created``, ``file_changed``,
``file_deleted``, ``file_moved``) carries its ``author`` and, for text, a
unified diff. Replaying them in order over a per-file map *line number → (author,
text)* needs no file contents at all: a hunk says which old lines it removes,
which it keeps and where its added lines land, and lines outside the hunks
only shift. At the end each ``+`` line of ``artifacts.final_patch`` is looked up
at its line number in the final revision: the author of the change that last
wrote that exact text there; ``unknown`` if none did (written before the
recording, or by a change the trace holds without a diff).

The same function runs at ``prtrace record stop`` (over the spooled events) and
on the server (over the stored ones), and :func:`agent_trace` turns the result
into an Agent Trace record (cursor/agent-trace, RFC 0.1.0): ranges 1-indexed at
the final revision, ``content_hash``, the contributor's type and ``model_id``,
the tool call or command under ``related`` and ``metadata``.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, Literal

from msgspec import Struct, field

from prtrace import events as ev
from prtrace.hashing import text_hash
from prtrace.patches import FilePatch, Hunk, parse_patch

AuthorKind = Literal["human", "agent", "command", "unknown"]
AGENT_TRACE_VERSION = "0.1.0"
_UNKNOWN = ev.Author(kind="unknown")


class LineCounts(Struct, forbid_unknown_fields=True):
    human: int = 0
    agent: int = 0
    command: int = 0
    unknown: int = 0

    @property
    def total(self) -> int:
        return self.human + self.agent + self.command + self.unknown

    def add(self, kind: str, n: int = 1) -> None:
        setattr(self, kind, getattr(self, kind) + n)


class AttributedRange(Struct, forbid_unknown_fields=True, omit_defaults=True):
    """Consecutive added lines of one author: 1-indexed, inclusive, at the final revision."""

    start_line: int
    end_line: int
    kind: AuthorKind
    content_hash: str
    agent: str | None = None
    model: str | None = None
    event_id: str | None = None


class FileAttribution(Struct, forbid_unknown_fields=True, omit_defaults=True):
    path: str
    lines: LineCounts = field(default_factory=LineCounts)
    ranges: list[AttributedRange] = field(default_factory=list)


class Attribution(Struct, forbid_unknown_fields=True, omit_defaults=True):
    """``artifacts.attribution``: the final patch's added lines by author."""

    lines: LineCounts = field(default_factory=LineCounts)
    files: list[FileAttribution] = field(default_factory=list)
    ai_share: float | None = None
    """Agent-written share of the added lines (None: no added line); what
    ``GET /traces?ai_share=MIN:MAX`` filters on."""


_Tag = tuple[ev.Author, str]
"""Who wrote a line, and the line's text (without its line ending)."""


def _text(line: str) -> str:
    return line.rstrip("\r\n")


def _first(start: int, count: int) -> int:
    """The first line a hunk side covers (a count of 0 means 'after line start')."""
    return start + 1 if count == 0 else start


def _apply(tags: dict[int, _Tag], hunks: list[Hunk], author: ev.Author) -> dict[int, _Tag]:
    out: dict[int, _Tag] = {}
    spans = sorted(hunks, key=lambda h: h.old_start)
    for line, tag in tags.items():
        delta, covered = 0, False
        for hunk in spans:
            first = _first(hunk.old_start, hunk.old_count)
            if hunk.old_count and first <= line < first + hunk.old_count:
                covered = True
                break
            if line >= first + hunk.old_count:
                delta += hunk.new_count - hunk.old_count
        if not covered:
            out[line + delta] = tag
    for hunk in spans:
        old = _first(hunk.old_start, hunk.old_count)
        new = _first(hunk.new_start, hunk.new_count)
        for body in hunk.lines:
            mark = body[:1]
            if mark == " ":
                if old in tags:
                    out[new] = tags[old]
                old, new = old + 1, new + 1
            elif mark == "-":
                old += 1
            elif mark == "+":
                out[new] = (author, _text(body[1:]))
                new += 1
    return out


def _patches(patch: str | None) -> list[FilePatch]:
    if not patch:
        return []
    try:
        return parse_patch(patch)
    except Exception:  # noqa: BLE001 - the strict reader refused: read it leniently
        return _lenient(patch)


def _lenient(patch: str) -> list[FilePatch]:
    """A diff whose hunk counts are off — redaction can turn a multi-line secret into one
    placeholder line — read with each hunk's counts taken from its body."""
    lines = patch.splitlines(keepends=True)
    files: list[FilePatch] = []
    hunk: Hunk | None = None
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("--- ") and i + 1 < len(lines) and lines[i + 1].startswith("+++ "):
            old, new = (_side(x[4:]) for x in (line, lines[i + 1]))
            files.append(FilePatch(old, new))
            hunk, i = None, i + 2
            continue
        header = _HUNK.match(line)
        if header and files:
            hunk = Hunk(int(header.group(1)), 0, int(header.group(2)), 0)
            files[-1].hunks.append(hunk)
        elif line.startswith("diff --git "):
            hunk = None
        elif hunk is not None and line[:1] in (" ", "-", "+"):
            hunk.lines.append(line)
            hunk.old_count += line[0] != "+"
            hunk.new_count += line[0] != "-"
        i += 1
    return files


_HUNK = re.compile(r"^@@ -(\d+)(?:,\d+)? \+(\d+)(?:,\d+)? @@")


def _side(name: str) -> str | None:
    name = name.split("\t", 1)[0].rstrip("\r\n")
    if name == "/dev/null":
        return None
    return name[2:] if name.startswith(("a/", "b/")) else name


def replay(events: Iterable[ev._Event]) -> dict[str, dict[int, _Tag]]:
    """Each file's line → (author, text) after the trace's changes, in time order."""
    files: dict[str, dict[int, _Tag]] = {}
    changes = [e for e in events if e.__struct_config__.tag in ev.CHANGE_EVENT_TYPES]
    for event in sorted(changes, key=lambda e: e.t):
        author = getattr(event, "author", None) or _UNKNOWN
        path = event.path  # type: ignore[attr-defined]
        if isinstance(event, ev.FileDeleted):
            files.pop(path, None)
            continue
        if isinstance(event, ev.FileMoved):
            files[path] = files.pop(event.from_path, {})
            continue
        patch = getattr(event, "patch_unified", None)
        if isinstance(event, ev.FileCreated):
            files[path] = {}
        parsed = _patches(patch)
        if not parsed:
            if not isinstance(event, ev.FileCreated):
                files[path] = {}  # a change we cannot follow: its lines are unknown now
            continue
        for file_patch in parsed:
            files[path] = _apply(files.get(path, {}), file_patch.hunks, author)
    return files


def attribute(events: Iterable[ev._Event], final_patch: str | None) -> Attribution:
    """Attribute every added line of ``final_patch`` (see the module's docstring)."""
    files = replay(events)
    result = Attribution()
    for file_patch in _patches(final_patch):
        if file_patch.new_path is None:
            continue
        path = file_patch.new_path
        tags = files.get(path, {})
        attributed = FileAttribution(path=path)
        run: list[tuple[int, ev.Author, str]] = []

        for hunk in file_patch.hunks:
            new = _first(hunk.new_start, hunk.new_count)
            for body in hunk.lines:
                mark = body[:1]
                if mark == "+":
                    text = _text(body[1:])
                    tag = tags.get(new)
                    author = tag[0] if tag is not None and tag[1] == text else _UNKNOWN
                    if run and (run[-1][0] + 1 != new or run[-1][1] != author):
                        _close(run, attributed)
                    run.append((new, author, text))
                    attributed.lines.add(author.kind)
                    result.lines.add(author.kind)
                    new += 1
                elif mark == " ":
                    _close(run, attributed)
                    new += 1
            _close(run, attributed)
        if attributed.lines.total:
            result.files.append(attributed)
    total = result.lines.total
    result.ai_share = None if total == 0 else round(result.lines.agent / total, 6)
    return result


def _close(run: list[tuple[int, ev.Author, str]], attributed: FileAttribution) -> None:
    """End a run of consecutive lines of one author: one range."""
    if not run:
        return
    author = run[0][1]
    attributed.ranges.append(
        AttributedRange(
            start_line=run[0][0],
            end_line=run[-1][0],
            kind=author.kind,
            content_hash="sha256:" + text_hash("\n".join(t for _, _, t in run)),
            agent=author.agent,
            model=author.model,
            event_id=author.event_id,
        )
    )
    run.clear()


_CONTRIBUTOR = {"human": "human", "agent": "ai", "command": "unknown", "unknown": "unknown"}


def agent_trace(
    attribution: Attribution,
    *,
    trace_id: str,
    revision: str | None,
    tool_version: str,
    timestamp: datetime | None = None,
    events: Iterable[ev._Event] = (),
) -> dict[str, Any]:
    """The attribution as one Agent Trace record (a JSON object).

    One conversation per contributor within each file: the agent's tool call
    (or the terminal command) is its ``related`` resource and its ``metadata``
    names prtrace's own author kind, so a formatter's lines (contributor
    ``unknown`` to the spec) stay told apart from lines nobody is known for.
    """
    by_id = {e.id: e for e in events}
    files = []
    for file in attribution.files:
        groups: dict[tuple[str, str | None, str | None, str | None], list[AttributedRange]] = {}
        for r in file.ranges:
            groups.setdefault((r.kind, r.agent, r.model, r.event_id), []).append(r)
        conversations = []
        for (kind, agent, model, event_id), ranges in groups.items():
            contributor: dict[str, Any] = {"type": _CONTRIBUTOR[kind]}
            if model:
                contributor["model_id"] = model
            conversation: dict[str, Any] = {
                "contributor": contributor,
                "ranges": [
                    {
                        "start_line": r.start_line,
                        "end_line": r.end_line,
                        "content_hash": r.content_hash,
                    }
                    for r in ranges
                ],
                "metadata": {"prtrace": {"author": kind, "agent": agent, "event_id": event_id}},
            }
            if event_id:
                related: dict[str, Any] = {
                    "type": _related_type(by_id.get(event_id), kind),
                    "url": f"prtrace://traces/{trace_id}/events/{event_id}",
                }
                conversation["related"] = [related]
                described = by_id.get(event_id)
                if isinstance(described, ev.AgentToolCall):
                    conversation["metadata"]["prtrace"]["tool"] = described.tool
                    if described.agent_session_id:
                        conversation["url"] = (
                            f"prtrace://traces/{trace_id}/agent-sessions/"
                            f"{described.agent_session_id}"
                        )
                elif isinstance(described, ev.TerminalCommand):
                    conversation["metadata"]["prtrace"]["command"] = described.cmd
            conversations.append(conversation)
        files.append({"path": file.path, "conversations": conversations})
    record: dict[str, Any] = {
        "version": AGENT_TRACE_VERSION,
        "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"prtrace:{trace_id}")),
        "timestamp": (timestamp or datetime.now(UTC)).isoformat().replace("+00:00", "Z"),
        "vcs": {"type": "git", "revision": revision} if revision else None,
        "tool": {"name": "prtrace", "version": tool_version},
        "files": files,
        "metadata": {
            "prtrace": {
                "trace_id": trace_id,
                "lines": {
                    "human": attribution.lines.human,
                    "agent": attribution.lines.agent,
                    "command": attribution.lines.command,
                    "unknown": attribution.lines.unknown,
                },
                "ai_share": attribution.ai_share,
            }
        },
    }
    if record["vcs"] is None:
        del record["vcs"]
    return record


def _related_type(event: ev._Event | None, kind: str) -> str:
    if isinstance(event, ev.AgentToolCall):
        return "agent_tool_call"
    if isinstance(event, ev.TerminalCommand):
        return "terminal_command"
    return "agent_tool_call" if kind == "agent" else "terminal_command"


def trace_attribution(trace: Any) -> Attribution:
    """A trace document's attribution: the recorder's, else computed from its events."""
    stored = trace.artifacts.attribution
    if stored is not None:
        return stored
    return attribute(trace.events, trace.artifacts.final_patch)


def trace_agent_trace(trace: Any) -> dict[str, Any]:
    """``GET /traces/{id}/agent-trace``, ``prtrace trace export --format agent-trace``."""
    from prtrace import __version__

    return agent_trace(
        trace_attribution(trace),
        trace_id=trace.trace_id,
        revision=trace.task.commit,
        tool_version=__version__,
        timestamp=trace.sealed_at or trace.created_at,
        events=trace.events,
    )
