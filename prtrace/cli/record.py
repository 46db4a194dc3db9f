"""``prtrace record start|stop|status``: the recording session of a workspace."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from prtrace.cli import common
from prtrace.errors import UsageError


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "record",
        help="start, stop or inspect the recording session of this workspace",
        description=(
            "A session ties the workspace's recorders (prtrace lsp, …) to one trace on the "
            "backend. It lives in .prtrace/session.json at the workspace root (the git "
            "top-level, or PRTRACE_WORKSPACE)."
        ),
    )
    parser.set_defaults(help_parser=parser)
    commands = parser.add_subparsers(dest="record_command", metavar="SUBCOMMAND")

    start = commands.add_parser(
        "start",
        help="create the trace and start uploading this workspace's events to it",
        description=(
            "Create a trace on the backend for a task (a repository at a commit) and write "
            "the session into the workspace. Repository, commit and branch default to the "
            "workspace's git; the developer to git user.email, else $USER. Events spooled "
            "before the session started are uploaded to it too."
        ),
    )
    common.add_connection_options(start)
    _add_workspace(start)
    start.add_argument("--repository", metavar="URL", help="default: git remote origin")
    start.add_argument("--commit", metavar="SHA", help="default: git rev-parse HEAD")
    start.add_argument("--branch", metavar="NAME", help="default: the checked-out branch")
    start.add_argument(
        "--task",
        metavar="ID",
        help="the task's id (an issue, a benchmark id…); an imported task with this id "
        "(prtrace task import) is recorded into the trace waiting for it",
    )
    start.add_argument("--title", help="a short title for the task")
    start.add_argument("--developer", metavar="ID", help="default: git user.email, else $USER")
    start.add_argument("--test-image", metavar="IMAGE", help="Docker image the tests run in")
    start.add_argument("--test-command", metavar="CMD", help="e.g. 'pytest -q'")
    start.add_argument(
        "--fail-to-pass",
        metavar="TEST",
        action="append",
        help="a test the fix must make pass (repeat it; QA's targets, else the tests "
        "failing at the commit)",
    )
    start.add_argument("--description", help="what is wrong, in the reporter's words")
    start.add_argument("--editor", metavar="NAME", help="the editor, for the trace's environment")
    start.add_argument(
        "--no-daemon",
        action="store_true",
        help="do not start the background recorder (file watcher, git, shell hooks)",
    )
    common.add_json_option(start)
    start.set_defaults(handler=run_start)

    stop = commands.add_parser(
        "stop",
        help="upload what is left and finalize the trace",
        description=(
            "Stop the background recorder, compute the final patch (the task's commit to "
            "the working tree: changed and new files that are not ignored, binary files "
            "included), upload every spooled event, finalize (seal) the trace with the "
            "patch and end the session. If the backend cannot be reached the session is "
            "kept: run it again."
        ),
    )
    _add_workspace(stop)
    stop.add_argument(
        "--no-patch", action="store_true", help="finalize without artifacts.final_patch"
    )
    stop.add_argument(
        "--timeout",
        type=float,
        default=60.0,
        metavar="S",
        help="give up uploading after S seconds (default: %(default)s)",
    )
    common.add_json_option(stop)
    stop.set_defaults(handler=run_stop)

    status = commands.add_parser(
        "status",
        help="the session, its events (spooled/uploaded) and whether the backend answers",
    )
    _add_workspace(status)
    common.add_json_option(status)
    status.set_defaults(handler=run_status)

    from prtrace.cli import record_privacy  # pause, resume, preview (docs/privacy.md)

    record_privacy.add_subcommands(commands, _add_workspace)


def _add_workspace(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--workspace",
        metavar="DIR",
        help="the workspace (default: $PRTRACE_WORKSPACE, else the git top-level of the cwd)",
    )


def _root(args: argparse.Namespace) -> Any:
    from prtrace.recorder.session.workspace import find_root

    return Path(args.workspace).resolve() if args.workspace else find_root()


def run_start(args: argparse.Namespace) -> int:
    import msgspec

    from prtrace.cli.trace import create_request
    from prtrace.recorder.session import lifecycle
    from prtrace.recorder.session.state import load_session

    root = _root(args)
    if load_session(root) is not None and not args.no_daemon:
        return _resume(args, root)
    if args.workspace:
        import os

        os.chdir(root)  # the git defaults come from the workspace, not where we stand
    with common.client_from_args(args) as api:
        waiting = _waiting(api, args.task) if args.task else None
        if waiting is not None:
            # An imported task (prtrace task import): record into its trace.
            developer, task, environment = waiting.developer, waiting.task, waiting.environment
            if not (args.workspace or _in_git()):
                raise UsageError(
                    f"task {args.task}: run this in a checkout of {task.repository} at "
                    f"{task.commit} (or pass --workspace)"
                )
        else:
            developer, task, environment = create_request(args)
            if args.task:
                task = msgspec.structs.replace(task, id=args.task)
        environment = msgspec.structs.replace(
            environment,
            editor=args.editor or environment.editor,
            recorder_version=_version(),
        )
        session = lifecycle.start(
            root,
            api,
            developer,
            task,
            environment,
            existing=waiting.trace_id if waiting is not None else None,
        )
    pid = None if args.no_daemon else lifecycle.start_daemon(root)
    if args.json:
        common.print_json({"workspace": str(root), **session.public(), "daemon_pid": pid})
    else:
        print(f"recording trace {session.trace_id} in {root}")
        print(f"backend {session.url}")
    return common.EXIT_OK


def _waiting(api: Any, task_id: str) -> Any:
    from prtrace.cli.task import find_waiting_trace

    return find_waiting_trace(api, task_id)


def _in_git() -> bool:
    from prtrace.cli import gitinfo

    return bool(gitinfo.commit())


def _resume(args: argparse.Namespace, root: Path) -> int:
    """A session exists: start its daemon again if it died (nothing is lost or resent)."""
    from prtrace.recorder.session import lifecycle

    session, pid = lifecycle.resume(root)
    if args.json:
        common.print_json(
            {"workspace": str(root), **session.public(), "daemon_pid": pid, "resumed": True}
        )
    else:
        print(f"resumed recording trace {session.trace_id} in {root}")
    return common.EXIT_OK


def run_stop(args: argparse.Namespace) -> int:
    from prtrace.recorder.session import lifecycle

    root = _root(args)
    result = lifecycle.finish(root, timeout=args.timeout, patch=not args.no_patch)
    for warning in result.warnings:
        common.error(warning)
    if args.json:
        common.print_json(
            {
                "workspace": str(root),
                "trace_id": result.session.trace_id,
                "status": result.status,
                "events": result.events,
                "uploaded_now": result.sent,
                "refused_events": result.refused_events,
                "qa_job_id": result.qa_job_id,
                "final_patch_bytes": result.final_patch_bytes,
                "url": result.url,
            }
        )
    else:
        print(f"trace {result.session.trace_id} {result.status}: {result.events} events")
        print(result.url)
        if result.refused_events:
            common.error(f"{result.refused_events} event(s) were refused by the backend")
    return common.EXIT_OK


def run_status(args: argparse.Namespace) -> int:
    from prtrace.recorder.session import lifecycle

    report = lifecycle.status(_root(args))
    if args.json:
        common.print_json(report)
        return common.EXIT_OK
    out = sys.stdout
    if report["session"] is None:
        out.write(f"not recording in {report['workspace']} (prtrace record start)\n")
    else:
        out.write(f"recording trace {report['trace_id']} in {report['workspace']}\n")
    events = report["events"]
    out.write(
        f"events: {events['spooled']} spooled, {events['uploaded']} uploaded, "
        f"{events['unsent'] + events['pending']} waiting, {events['failed']} refused\n"
    )
    daemon = report["daemon"]
    out.write(
        f"daemon: running (pid {daemon['pid']})\n" if daemon["alive"] else "daemon: not running\n"
    )
    backend = report.get("backend")
    if backend is not None:
        state = "reachable" if backend["reachable"] else f"unreachable ({backend['error']})"
        out.write(f"backend: {backend['url']} {state}\n")
    if report.get("last_error"):
        out.write(f"last upload error: {report['last_error']}\n")
    return common.EXIT_OK


def _version() -> str:
    from prtrace import __version__

    return __version__
