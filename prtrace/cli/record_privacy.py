"""``prtrace record pause|resume|preview``: the developer's controls over recording.

Kept apart from ``record.py`` (start/stop/status) so each stays small; the
``record`` parser adds these through :func:`add_subcommands`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from prtrace.cli import common


def add_subcommands(
    commands: argparse._SubParsersAction,
    add_workspace: Callable[[argparse.ArgumentParser], None],
) -> None:
    pause = commands.add_parser(
        "pause",
        help="record nothing in this workspace until `prtrace record resume`",
        description=(
            "Every recorder of the workspace (editor proxies, shell, watcher, notes) drops "
            "its events while paused; nothing is written. Edits made while paused are not "
            "in the trace, so replay may stop at the first edit after resuming."
        ),
    )
    add_workspace(pause)
    common.add_json_option(pause)
    pause.set_defaults(handler=run_pause, paused=True)

    resume = commands.add_parser("resume", help="record again after `prtrace record pause`")
    add_workspace(resume)
    common.add_json_option(resume)
    resume.set_defaults(handler=run_pause, paused=False)

    preview = commands.add_parser(
        "preview",
        help="show exactly what the next upload would send (redacted events, destination)",
    )
    add_workspace(preview)
    common.add_json_option(preview)
    preview.set_defaults(handler=run_preview)


def _root(args: argparse.Namespace) -> Path:
    from prtrace.recorder.session.workspace import find_root

    return Path(args.workspace).resolve() if args.workspace else find_root()


def run_pause(args: argparse.Namespace) -> int:
    from prtrace.recorder.pipeline.privacy import set_paused

    root = _root(args)
    set_paused(root, args.paused)
    state = "paused" if args.paused else "recording"
    if args.json:
        common.print_json({"workspace": str(root), "paused": args.paused})
    else:
        print(f"{state} in {root}")
    return common.EXIT_OK


def run_preview(args: argparse.Namespace) -> int:
    from prtrace.recorder.session.preview import preview

    result = preview(_root(args))
    if args.json:
        common.print_json(result.report())
        return common.EXIT_OK
    out = sys.stdout
    if result.opted_in is None:
        out.write(f"not recording in {result.workspace}: not opted in (see docs/privacy.md)\n")
    elif result.paused:
        out.write(f"paused in {result.workspace} (prtrace record resume)\n")
    if result.local_only:
        out.write("local-only: nothing is ever uploaded from this workspace\n")
    elif result.trace_id is None:
        out.write("no session: nothing is sent until `prtrace record start`\n")
    else:
        out.write(
            f"next upload: batch {result.seq} of trace {result.trace_id} to {result.destination}\n"
        )
    out.write(f"{len(result.events)} event(s) in it, {result.waiting} unsent in all:\n")
    for body in result.events:
        out.write(body.decode("utf-8", "replace") + "\n")
    return common.EXIT_OK
