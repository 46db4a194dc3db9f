"""``prtrace run -- CMD…``: run one command and record it."""

from __future__ import annotations

import argparse
from pathlib import Path

from prtrace.errors import PrtraceError, UsageError


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "run",
        help="run one command and record it (stdout and stderr apart)",
        description=(
            "Run CMD with its stdout and stderr copied to yours as they come, and record "
            "it as a terminal_command event (command, cwd, exit code, duration, stdout, "
            "stderr) in the workspace's spool. Exits with CMD's exit code."
        ),
        usage="prtrace run [--workspace DIR] [--no-upload] -- CMD [ARGS...]",
    )
    parser.add_argument("--workspace", metavar="DIR", help="default: the git top-level of the cwd")
    parser.add_argument("--no-upload", action="store_true", help="only spool")
    parser.add_argument("argv", nargs=argparse.REMAINDER, help="the command")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from prtrace.recorder.session.workspace import find_root
    from prtrace.recorder.terminal.run_cmd import run_command

    argv = list(args.argv)
    if argv and argv[0] == "--":
        argv = argv[1:]
    if not argv:
        raise UsageError("no command: prtrace run -- CMD [ARGS...]")
    root = Path(args.workspace).resolve() if args.workspace else find_root()
    try:
        return run_command(root, argv, upload=not args.no_upload)
    except FileNotFoundError as exc:
        raise PrtraceError(f"cannot run {argv[0]!r}: {exc}") from None
