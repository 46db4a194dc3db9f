"""``prtrace editor-bridge --stdio``: the recorder behind an editor extension (VS Code)."""

from __future__ import annotations

import argparse
from pathlib import Path

from prtrace.errors import UsageError


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "editor-bridge",
        help="record what an editor extension reports on stdin (the VS Code extension runs this)",
        description=(
            "Read one JSON object per line on stdin — LSP-shaped document, edit, navigation "
            "and diagnostics messages, integrated-terminal commands and notes — and record "
            "them like `prtrace lsp` and `prtrace run` do: the same edit coalescing, the "
            "privacy step (opt-in, pause, redaction) and the workspace's spool, uploaded "
            "while a session exists. Writes status lines (JSON) on stdout. "
            "See docs/recorder.md, 'The VS Code extension'."
        ),
    )
    parser.add_argument(
        "--stdio", action="store_true", required=True, help="talk over stdin/stdout (required)"
    )
    parser.add_argument(
        "--workspace", metavar="DIR", help="the workspace folder (default: the git top-level)"
    )
    parser.add_argument(
        "--source",
        default="vscode",
        metavar="NAME",
        help="the events' source: vscode (default), cursor, vscodium…",
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
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from prtrace.recorder.lsp.bridge import run_bridge
    from prtrace.recorder.session.workspace import find_root

    if args.workspace:
        folder = Path(args.workspace)
        if not folder.is_dir():
            raise UsageError(f"--workspace {args.workspace}: not a directory")
        root = find_root(folder.resolve())
    else:
        root = find_root()
    return run_bridge(
        root,
        upload=not args.no_upload,
        idle_gap=args.idle_gap,
        source=args.source.strip() or "vscode",
    )
