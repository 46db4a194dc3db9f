"""``prtrace hook bash|zsh|fish``: the rc snippet that records every command."""

from __future__ import annotations

import argparse
import sys


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "hook",
        help="print a shell snippet that records every command (no output) in any terminal",
        description=(
            "Print an rc-file snippet: after each command the shell appends its command "
            "line, cwd, exit code and times to .prtrace/hook/ of the recorded workspace it "
            "is in (no process forked, nothing sent). The session's daemon turns them into "
            'terminal_command events. bash: eval "$(prtrace hook bash)" in ~/.bashrc; '
            "zsh: the same in ~/.zshrc; fish: prtrace hook fish | source in config.fish."
        ),
    )
    parser.add_argument("shell", choices=("bash", "zsh", "fish"))
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from prtrace.recorder.terminal.hooks import SNIPPETS

    sys.stdout.write(SNIPPETS[args.shell])
    return 0
