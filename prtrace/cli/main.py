"""``prtrace``: the entry point that gathers every subcommand.

Each subcommand lives in ``prtrace/cli/<name>.py`` and exposes
``add_parser(subparsers)``, which adds its parser(s) and sets
``handler=<function(args) -> exit code>``. To add a command, write the module
and list its name in :data:`COMMAND_MODULES`. Errors become messages and exit
codes in one place, :func:`prtrace.cli.common.run_handler` (the error tree and
its codes are in :mod:`prtrace.errors`).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from prtrace import __version__
from prtrace.cli import common

COMMAND_MODULES: tuple[str, ...] = (
    "serve",
    "worker",
    "lsp",
    "editor_bridge",
    "record",
    "shell",
    "run",
    "note",
    "hook",
    "setup",
    "doctor",
    "trace",
    "task",
    "dataset",
    "replay",
    "schema",
    "demo",
)
"""Subcommand modules under ``prtrace.cli``, in the order ``--help`` lists them."""


def build_parser(modules: Sequence[str] = COMMAND_MODULES) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="prtrace",
        description=(
            "Record how a developer fixes a bug, upload the session as a trace, "
            "and verify it (patch + tests in Docker, LLM judge)."
        ),
    )
    parser.add_argument("--version", action="version", version=f"prtrace {__version__}")
    common.add_connection_options(parser, top_level=True)
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in modules:
        importlib.import_module(f"{__package__}.{name}").add_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    words = list(sys.argv[1:] if argv is None else argv)
    if len(words) == 2 and words[0] == "hook":
        from prtrace.cli.hook import AGENTS

        if words[1] in AGENTS:
            # An agent's hook runs for every tool call: no parser of every command, no
            # imports beyond the socket's client (recorder/agents/client.py).
            from prtrace.recorder.agents.client import forward

            forward(words[1], sys.stdin.buffer)
            return common.EXIT_OK
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = getattr(args, "handler", None)
    if handler is None:
        # `prtrace` or `prtrace trace` alone: show what there is to run.
        parser_for = getattr(args, "help_parser", parser)
        parser_for.print_help(sys.stderr)
        return common.EXIT_USAGE
    return common.run_handler(handler, args)


if __name__ == "__main__":
    sys.exit(main())
