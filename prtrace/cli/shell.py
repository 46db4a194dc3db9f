"""``prtrace shell``: the user's shell in a recording PTY."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from prtrace.cli import common


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "shell",
        help="start your shell in a terminal that records every command and its output",
        description=(
            "Start SHELL (default $SHELL; bash, zsh and fish are integrated) in a PTY that "
            "behaves like your terminal. Each command becomes a terminal_command event "
            "(command line, cwd, exit code, duration, output without escape sequences) "
            "in the workspace's spool, uploaded while a session exists. Exits with the "
            "shell's exit status."
        ),
    )
    parser.add_argument("--shell", metavar="PATH", help="the shell to run (default: $SHELL)")
    parser.add_argument("--workspace", metavar="DIR", help="default: the git top-level of the cwd")
    parser.add_argument(
        "--no-upload",
        action="store_true",
        help="only spool; leave uploading to the session's daemon",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from prtrace.recorder.session.workspace import find_root
    from prtrace.recorder.terminal.pty_shell import run_shell

    if os.environ.get("PRTRACE_SHELL"):
        common.error("note: already inside `prtrace shell`; commands are recorded twice")
    root = Path(args.workspace).resolve() if args.workspace else find_root()
    return run_shell(root, args.shell, upload=not args.no_upload)
