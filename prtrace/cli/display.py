"""Readable renderings of traces, summaries and events for the terminal.

Kept apart from the command modules so that every command (``trace show``,
``replay``, ``record status``...) describes an event the same way. Works on
the msgspec Structs by attribute, importing nothing heavy itself.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

_EVENT_SUBJECT_FIELDS = ("path", "cmd", "raw", "title", "to_branch", "url", "remote", "hash")
"""The field that best names what an event is about, in order of preference."""


def when(value: datetime | None) -> str:
    """A timestamp to the second, UTC as ``Z``; ``-`` when missing."""
    if value is None:
        return "-"
    text = value.isoformat(timespec="seconds")
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def shorten(text: str, width: int) -> str:
    """One line of at most ``width`` characters, with ``…`` where it was cut."""
    line = " ".join(text.split())
    return line if len(line) <= width else line[: max(width - 1, 0)] + "…"


def summary_row(summary: Any) -> list[str]:
    """One row of ``trace list``: see :data:`SUMMARY_HEADERS`."""
    score = "-" if summary.overall is None else f"{summary.overall:.2f}"
    verdict = summary.verdict or "-"
    return [
        summary.trace_id,
        when(summary.created_at),
        summary.status,
        summary.developer_id,
        shorten(summary.repository, 40),
        summary.commit[:10],
        str(summary.events),
        summary.qa_status,
        verdict,
        score,
    ]


SUMMARY_HEADERS = [
    "TRACE",
    "CREATED",
    "STATUS",
    "DEVELOPER",
    "REPOSITORY",
    "COMMIT",
    "EVENTS",
    "QA",
    "VERDICT",
    "SCORE",
]


def event_line(event: Any) -> str:
    """``<time> <type> <subject> [extra]``: one event on one line."""
    kind = type(event).__struct_config__.tag
    subject = ""
    for name in _EVENT_SUBJECT_FIELDS:
        value = getattr(event, name, None)
        if value:
            subject = str(value)
            break
    extra = []
    exit_code = getattr(event, "exit_code", None)
    if exit_code is not None:
        extra.append(f"exit {exit_code}")
    errors = getattr(event, "errors", None)
    if isinstance(errors, int) and kind == "diagnostics":
        extra.append(f"{errors} errors, {getattr(event, 'warnings', 0)} warnings")
    tail = f"  ({', '.join(extra)})" if extra else ""
    return f"{when(event.t)}  {kind:<17} {shorten(subject, 80)}{tail}"


def patch_stats(patch: str | None) -> str:
    """``N files, +A -D`` for a unified diff, counted without parsing it fully."""
    if not patch:
        return "none"
    git_files = plain_files = added = removed = 0
    for line in patch.splitlines():
        if line.startswith("diff --git "):
            git_files += 1
        elif line.startswith("+++ "):
            plain_files += 1
        elif line.startswith("+"):
            added += 1
        elif line.startswith("-") and not line.startswith("--- "):
            removed += 1
    files = git_files or plain_files
    return f"{files} file{'s' if files != 1 else ''}, +{added} -{removed}"


def trace_summary(trace: Any, events: int = 10) -> list[str]:
    """The readable ``trace show`` text, as lines; ``events`` first events are listed."""
    task, dev, env, qa = trace.task, trace.developer, trace.environment, trace.qa
    who = dev.id + (f" ({dev.name})" if dev.name else "")
    lines = [
        f"trace       {trace.trace_id}  [{trace.status}]",
        f"created     {when(trace.created_at)}"
        + (f"   sealed {when(trace.sealed_at)}" if trace.sealed_at else ""),
        f"developer   {who}",
        f"task        {task.repository} @ {task.commit}"
        + (f" ({task.branch})" if task.branch else ""),
    ]
    if task.title:
        lines.append(f"title       {task.title}")
    if task.test_command or task.test_image:
        lines.append(f"tests       {task.test_command or '-'}  in {task.test_image or '-'}")
    env_bits = [bit for bit in (env.editor, env.os, env.shell) if bit]
    if env_bits:
        lines.append(f"environment {', '.join(env_bits)}")
    counts = Counter(type(event).__struct_config__.tag for event in trace.events)
    breakdown = ", ".join(f"{kind} {n}" for kind, n in counts.most_common())
    lines.append(f"events      {len(trace.events)}" + (f"  ({breakdown})" if breakdown else ""))
    lines.append(f"patch       {patch_stats(trace.artifacts.final_patch)}")
    lines.extend(_qa_lines(qa))
    if events > 0 and trace.events:
        lines.append("")
        shown = trace.events[:events]
        lines.extend("  " + event_line(event) for event in shown)
        if len(trace.events) > len(shown):
            lines.append(f"  … {len(trace.events) - len(shown)} more (--events N to see more)")
    return lines


def _qa_lines(qa: Any) -> list[str]:
    updated = f"  (updated {when(qa.updated_at)})" if qa.updated_at else ""
    lines = [f"qa          {qa.status}{updated}"]
    tests = qa.tests
    if tests is not None:
        outcome = "ok" if tests.ok else "FAILED"
        text = f"  tests     {outcome}: {tests.passed} passed, {tests.failed} failed"
        if tests.verdict:
            text += f", verdict {tests.verdict}"
        if tests.error is not None:
            text += f"  [{tests.error.kind}: {shorten(tests.error.message, 60)}]"
        lines.append(text)
        for label, names in (("fixed", tests.fail_to_pass), ("broken", tests.pass_to_fail)):
            if names:
                lines.append(f"  {label:<9} {', '.join(names)}")
    judge = qa.judge
    if judge is not None:
        overall = "-" if judge.overall is None else f"{judge.overall:.2f}"
        text = f"  judge     {judge.status}, overall {overall}"
        if judge.scores:
            text += "  (" + ", ".join(f"{k} {v:g}" for k, v in sorted(judge.scores.items())) + ")"
        if judge.reason:
            text += f"  [{shorten(judge.reason, 60)}]"
        lines.append(text)
    return lines


def qa_summary(job: Any, qa: Any) -> str:
    """What ``trace qa --wait`` prints: the job's end and the trace's QA lines."""
    lines = [f"job         {job.job_id} {job.status} after {job.attempts} attempt(s)"]
    if job.error:
        lines.append(f"  error     {shorten(job.error, 100)}")
    lines.extend(_qa_lines(qa))
    return "\n".join(lines)
