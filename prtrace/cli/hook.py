"""``prtrace hook bash|zsh|fish``: the rc snippet that records every command;
``prtrace hook claude-code|cursor``: an AI agent's hook, payload on stdin."""

from __future__ import annotations

import argparse
import sys

SHELLS = ("bash", "zsh", "fish")
AGENTS = ("claude-code", "cursor")
"""The agents' dialects (recorder/agents/__init__.py DIALECTS); kept here so that the
parser needs no import of the recorder."""


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "hook",
        help="print a shell snippet that records every command; or be an AI agent's hook",
        description=(
            "Shells: print an rc-file snippet: after each command the shell sends its "
            "command line, cwd, exit code and times to the session's daemon of the recorded "
            'workspace it is in. bash: eval "$(prtrace hook bash)" in ~/.bashrc; zsh: the '
            "same in ~/.zshrc; fish: prtrace hook fish | source in config.fish. "
            "Agents (claude-code, cursor): the command the agent's hooks run "
            "(prtrace setup claude-code installs them): reads the hook's JSON on stdin and "
            "hands it to the session's daemon; it always exits 0 at once, daemon or not."
        ),
    )
    parser.add_argument("shell", choices=SHELLS + AGENTS, metavar="SHELL|AGENT")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    if args.shell in AGENTS:
        from prtrace.recorder.agents.client import forward

        forward(args.shell, sys.stdin.buffer)
        return 0
    from prtrace.recorder.terminal.hooks import SNIPPETS

    sys.stdout.write(SNIPPETS[args.shell])
    return 0
