"""``prtrace setup TARGET [--undo] [--print]``: install what records in that place.

The targets (editors, shells, agents) and the rules for writing the user's files
are in :mod:`prtrace.recorder.setup`; this module only parses and reports.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from prtrace.cli import common

if TYPE_CHECKING:
    from prtrace.recorder.setup.base import SetupContext


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    from prtrace.recorder.setup import TARGETS

    parser = subparsers.add_parser(
        "setup",
        help="install (or --undo) the config that records an editor, shell or agent",
        description=(
            "Install prtrace's config for TARGET, idempotently: run it again and nothing "
            "changes. Your own settings are kept: prtrace's part of a file sits between "
            "marker lines (or is merged into JSON), a file is backed up to "
            "NAME.prtrace-backup before prtrace first changes it, and --undo removes only "
            "what prtrace added. --print writes nothing and shows what to paste."
        ),
    )
    parser.add_argument(
        "target", choices=sorted(TARGETS), metavar="TARGET", help=", ".join(sorted(TARGETS))
    )
    parser.add_argument("--undo", action="store_true", help="remove what prtrace setup added")
    parser.add_argument(
        "--print",
        dest="print_only",
        action="store_true",
        help="write nothing; show what would be written",
    )
    parser.add_argument("--home", metavar="DIR", help="the home folder to set up (default: ~)")
    parser.add_argument(
        "--repo", metavar="DIR", help="the repository, for per-repo configs (default: the cwd)"
    )
    common.add_json_option(parser)
    parser.set_defaults(handler=run)


def context_from_args(args: argparse.Namespace) -> SetupContext:
    from prtrace.recorder.setup.base import SetupContext, default_command

    return SetupContext(
        home=Path(args.home).expanduser() if args.home else Path.home(),
        repo=Path(args.repo).resolve() if args.repo else Path.cwd(),
        print_only=args.print_only,
        prtrace=default_command(),
    )


def run(args: argparse.Namespace) -> int:
    from prtrace.recorder.setup import load

    ctx = context_from_args(args)
    target = load(args.target)
    actions = target.undo(ctx) if args.undo else target.install(ctx)
    if args.json:
        common.print_json(
            {
                "target": args.target,
                "undo": args.undo,
                "actions": [
                    {
                        "kind": a.kind,
                        "path": str(a.path) if a.path else None,
                        "detail": a.detail,
                        "content": a.content,
                    }
                    for a in actions
                ],
            }
        )
        return common.EXIT_OK
    for action in actions:
        where = f" {action.path}" if action.path else ""
        detail = f" ({action.detail})" if action.detail else ""
        print(f"{action.kind}:{where}{detail}")
        if action.kind == "would-write" and action.content is not None:
            print(action.content, end="" if action.content.endswith("\n") else "\n")
    return common.EXIT_OK
