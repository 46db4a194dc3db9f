"""``prtrace lsp -- SERVER CMD…``: the recording LSP proxy an editor launches."""

from __future__ import annotations

import argparse

from prtrace.errors import PrtraceError, UsageError


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "lsp",
        help="run a language server behind the recording proxy (editors launch this)",
        description=(
            "Start SERVER CMD and forward the editor's LSP traffic to it byte for byte, "
            "recording opens, navigation, edits and diagnostics beside the path into the "
            "workspace's spool (.prtrace/spool.db). Events are uploaded while a session "
            "exists (prtrace record start) and kept until then otherwise. "
            "Exits with the server's exit code."
        ),
        usage="prtrace lsp [--no-upload] [--idle-gap S] -- SERVER [ARGS...]",
    )
    parser.add_argument(
        "--no-upload",
        action="store_true",
        help="only spool; leave uploading to another process of the session",
    )
    parser.add_argument(
        "--idle-gap",
        type=float,
        default=None,
        metavar="S",
        help="seconds without typing that end an edit burst (default: 1.5)",
    )
    parser.add_argument("server", nargs=argparse.REMAINDER, help="the language server command")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    argv = list(args.server)
    if argv and argv[0] == "--":
        argv = argv[1:]
    if not argv:
        raise UsageError("no server command: prtrace lsp -- SERVER [ARGS...]")
    from prtrace.recorder.lsp.main import run_lsp

    try:
        return run_lsp(argv, upload=not args.no_upload, idle_gap=args.idle_gap)
    except FileNotFoundError as exc:
        raise PrtraceError(f"cannot start the language server {argv[0]!r}: {exc}") from None
