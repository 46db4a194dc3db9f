"""``prtrace note "text" --tag t``: record a thought in the session."""

from __future__ import annotations

import argparse
from pathlib import Path

from prtrace.cli import common
from prtrace.errors import UsageError


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "note",
        help="record a note (a `thought` event) in this workspace's session",
        description=(
            "Write a thought — a hypothesis, a dead end, why you chose a fix — into the "
            "workspace's spool. It is uploaded with the other events of the session "
            "(kept until one exists)."
        ),
    )
    parser.add_argument("text", nargs="+", help="the note (several words are joined)")
    parser.add_argument(
        "--tag",
        "-t",
        action="append",
        default=[],
        metavar="TAG",
        help="a tag (repeat for several), e.g. hypothesis, dead-end",
    )
    parser.add_argument("--workspace", metavar="DIR", help="default: the git top-level of the cwd")
    common.add_json_option(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from prtrace.recorder.session import lifecycle
    from prtrace.recorder.session.workspace import find_root

    text = " ".join(args.text).strip()
    if not text:
        raise UsageError("the note is empty")
    root = Path(args.workspace).resolve() if args.workspace else find_root()
    result = lifecycle.note(root, text, list(args.tag))
    if args.json:
        common.print_json(
            {
                "event_id": result.event_id,
                "uploaded": result.uploaded,
                "trace_id": result.session.trace_id if result.session else None,
            }
        )
    elif result.session is None:
        common.error("noted; no session yet: it will be uploaded once `prtrace record start` runs")
    return common.EXIT_OK
