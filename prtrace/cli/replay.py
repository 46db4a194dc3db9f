"""``prtrace replay TRACE``: rebuild a session's workspace, or re-send it to a server.

TRACE is a trace document file (or a JSONL export: its first line) or a trace id
on the backend. The replay itself is :func:`prtrace.replay.replay`; this module
parses flags and prints the timeline.
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime, timedelta
from typing import Any

from prtrace.cli import common
from prtrace.errors import UsageError

_UNITS = {"s": 1, "m": 60, "h": 3600}


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "replay",
        help="rebuild a trace's workspace event by event, or re-upload it",
        description=(
            "Check out the task's repository at its commit into a workspace and apply the "
            "trace's changes in order, verifying every before/after hash. Prints the "
            "timeline and the first event where recording and replay disagree; with the "
            "whole trace replayed, compares the workspace's diff with the final patch. "
            "Exit 1 on a disagreement or a different patch. --to-server re-uploads the "
            "trace to another backend as a new trace instead."
        ),
    )
    common.add_connection_options(parser)
    parser.add_argument("trace", metavar="TRACE", help="a trace file (JSON or JSONL) or a trace id")
    parser.add_argument(
        "-w",
        "--workspace",
        metavar="DIR",
        help="where to check out and replay (absent or empty; default ./replay-<trace id>)",
    )
    parser.add_argument(
        "--repository",
        metavar="PATH|URL",
        help="clone from here instead of the task's repository (a local mirror)",
    )
    stop = parser.add_mutually_exclusive_group()
    stop.add_argument("--until", metavar="EVENT_ID", help="stop after this event")
    stop.add_argument(
        "--at",
        metavar="TIME",
        help="stop at this time: RFC 3339, or +90s/+5m/+1h after the first event",
    )
    parser.add_argument(
        "--keep-going",
        action="store_true",
        help="go on after a disagreement (later events report their own)",
    )
    parser.add_argument(
        "--no-observe",
        action="store_true",
        help="do not check the hashes of opened and saved files, only of changes",
    )
    parser.add_argument("--patch-out", metavar="FILE", help="write the workspace's diff to FILE")
    parser.add_argument(
        "--to-server", metavar="URL", help="re-upload the trace to this backend as a new trace"
    )
    parser.add_argument(
        "--to-token",
        metavar="TOKEN",
        help="API token of --to-server (default: the --token / PRTRACE_API_TOKEN in effect)",
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="no timeline, only the summary")
    common.add_json_option(parser)
    parser.set_defaults(handler=run)


def parse_at(text: str, start: datetime | None) -> datetime:
    """``+90s``/``+5m``/``+1h`` after ``start``, or an absolute time."""
    value = text.strip()
    if value.startswith("+") and value[-1:] in _UNITS:
        try:
            amount = float(value[1:-1])
        except ValueError:
            raise UsageError(f"--at {text!r}: not an offset like +90s") from None
        if start is None:
            raise UsageError("--at with an offset: the trace has no events")
        return start + timedelta(seconds=amount * _UNITS[value[-1]])
    try:
        return common.parse_time(value)
    except argparse.ArgumentTypeError as exc:
        raise UsageError(f"--at: {exc}") from None


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from prtrace import replay as rp

    trace = _load(args)
    start = trace.events[0].t if trace.events else None
    at = parse_at(args.at, start) if args.at else None
    if args.until and args.until not in {e.id for e in trace.events}:
        raise UsageError(f"--until: no event {args.until!r} in trace {trace.trace_id}")
    if args.to_server:
        return _to_server(args, trace, at)

    workspace = Path(args.workspace or f"replay-{trace.trace_id}")
    result = rp.replay(
        trace,
        workspace,
        repository=args.repository,
        until=args.until,
        at=at,
        observe=not args.no_observe,
        keep_going=args.keep_going,
    )
    whole = result.stopped_at is None and len(result.steps) == len(trace.events)
    diff = result.diff()
    if args.patch_out:
        Path(args.patch_out).write_text(diff, encoding="utf-8", errors="surrogateescape")
    final = trace.artifacts.final_patch
    patch_matches = final == diff if (whole and result.ok and final is not None) else None
    if args.json:
        common.print_json(_report(trace, result, patch_matches))
    else:
        if not args.quiet:
            for line in timeline(result, start):
                print(line)
        for line in summary(trace, result, patch_matches):
            print(line, file=sys.stderr)
    failed = not result.ok or patch_matches is False
    return common.EXIT_FAILURE if failed else common.EXIT_OK


def _load(args: argparse.Namespace) -> Any:
    from pathlib import Path

    from prtrace.replay import load_trace

    if Path(args.trace).is_file():
        return load_trace(args.trace)
    with common.client_from_args(args) as api:
        return load_trace(args.trace, api)


def _to_server(args: argparse.Namespace, trace: Any, at: datetime | None) -> int:
    from prtrace.client import Client
    from prtrace.replay import reupload

    token = args.to_token or common.settings_from_args(args).api_token
    with Client(args.to_server, token) as target:
        new_id = reupload(trace, target, until=args.until, at=at)
    if args.json:
        common.print_json(
            {"trace_id": new_id, "from_trace_id": trace.trace_id, "url": args.to_server}
        )
    else:
        print(new_id)
        print(f"re-uploaded {trace.trace_id} to {args.to_server} as {new_id}", file=sys.stderr)
    return common.EXIT_OK


def timeline(result: Any, start: datetime | None) -> list[str]:
    """One line per replayed event: mark, offset from the first event, the event."""
    from prtrace.cli import display

    lines = []
    for step in result.steps:
        mark = "✗" if step.error else ("~" if step.changed else " ")
        offset = (step.event.t - start).total_seconds() if start else 0.0
        lines.append(f"{mark} {offset:>+9.1f}s  {display.event_line(step.event)}")
        if step.error:
            lines.append(f"             {step.error}")
    return lines


def summary(trace: Any, result: Any, patch_matches: bool | None) -> list[str]:
    lines = [
        (
            f"replayed {len(result.steps)} of {len(trace.events)} events of {trace.trace_id} "
            f"({result.changed} changed files) in {result.workspace} at {result.commit[:12]}"
        )
    ]
    if result.stopped_at:
        lines.append(f"stopped after {result.stopped_at}: the workspace is as it was then")
    if result.unverifiable:
        ids = ", ".join(result.unverifiable[:5]) + (" …" if len(result.unverifiable) > 5 else "")
        lines.append(
            f"UNVERIFIABLE: {len(result.unverifiable)} edit(s) carry hashes that are not sha256 "
            f"({ids}): applied, but not checked against the recording"
        )
    if result.disagreement:
        d = result.disagreement
        lines.append(f"DISAGREES at events[{d.index}] id {d.event_id} ({d.type}): {d.message}")
    if patch_matches is True:
        lines.append("final patch: reproduced exactly")
    elif patch_matches is False:
        lines.append(
            "final patch: the replayed workspace's diff DIFFERS from artifacts.final_patch"
        )
    return lines


def _report(trace: Any, result: Any, patch_matches: bool | None) -> dict[str, Any]:
    d = result.disagreement
    return {
        "trace_id": trace.trace_id,
        "workspace": str(result.workspace),
        "commit": result.commit,
        "replayed": len(result.steps),
        "events": len(trace.events),
        "changed": result.changed,
        "stopped_at": result.stopped_at,
        "unverifiable": result.unverifiable,
        "disagreement": None
        if d is None
        else {
            "index": d.index,
            "event_id": d.event_id,
            "type": d.type,
            "path": d.path,
            "message": d.message,
        },
        "final_patch_matches": patch_matches,
        "timeline": [
            {
                "index": s.index,
                "id": s.event.id,
                "type": s.type,
                "t": s.event.t,
                "changed": s.changed,
                "error": s.error,
            }
            for s in result.steps
        ],
    }
