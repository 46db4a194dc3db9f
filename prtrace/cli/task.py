"""``prtrace task import FILE``: SWE-bench instances as traces waiting to be recorded."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from prtrace.cli import common


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "task",
        help="import tasks (SWE-bench instances) for developers to record",
        description="Tasks for developers to record (docs/datasets.md).",
    )
    parser.set_defaults(help_parser=parser)
    commands = parser.add_subparsers(dest="task_command", metavar="SUBCOMMAND")
    imp = commands.add_parser(
        "import",
        help="create one open trace per SWE-bench instance of FILE",
        description=(
            "Read SWE-bench instances (JSONL, a JSON list, or parquet; FAIL_TO_PASS as a "
            "list or a JSON string) and create one open trace per instance: repository, "
            "base commit, problem statement, FAIL_TO_PASS/PASS_TO_PASS, test_patch, test "
            "image and command. A developer records one with `prtrace record start --task "
            "INSTANCE_ID`; QA applies the task's test_patch before running the tests."
        ),
    )
    common.add_connection_options(imp)
    imp.add_argument("file", metavar="FILE", help="the instances (.jsonl, .json or .parquet)")
    imp.add_argument(
        "--developer",
        default="unassigned",
        metavar="ID",
        help="who the traces are for (default: %(default)s)",
    )
    imp.add_argument("--test-image", metavar="IMAGE", help="Docker image the tests run in")
    imp.add_argument("--test-command", metavar="CMD", help="command that runs the tests")
    imp.add_argument(
        "--repository-url",
        default="https://github.com/{repo}.git",
        metavar="TEMPLATE",
        help="where a row's repo lives, {repo} being owner/name (default: %(default)s)",
    )
    common.add_json_option(imp)
    imp.set_defaults(handler=run_import)


def run_import(args: argparse.Namespace) -> int:
    from prtrace.datasets.tasks import read_instances, task_from_instance
    from prtrace.trace import Developer, Environment

    path = Path(args.file)
    developer = Developer(id=args.developer)
    created: list[dict[str, Any]] = []
    with common.client_from_args(args) as api:
        for number, row in enumerate(read_instances(path), 1):
            task = task_from_instance(
                row,
                f"{path.name} row {number}",
                repository_url=args.repository_url,
                test_image=args.test_image,
                test_command=args.test_command,
            )
            answer = api.create_trace(developer, task, Environment())
            created.append({"instance_id": task.id, "trace_id": answer.trace_id})
    if args.json:
        common.print_json({"tasks": created})
    else:
        for item in created:
            print(f"{item['instance_id']}\t{item['trace_id']}")
    noun = "task" if len(created) == 1 else "tasks"
    print(f"imported {len(created)} {noun} from {path}", file=sys.stderr)
    return common.EXIT_OK


def find_waiting_trace(api: Any, task_id: str) -> Any:
    """The open trace with no events yet whose task id is ``task_id``, or None.

    Reads the open traces' documents one by one (``GET /traces`` has no task filter):
    fine for the few hundred tasks a lab hands out at a time."""
    for summary in api.iter_traces(status="open"):
        if summary.events:
            continue
        trace = api.get_trace(summary.trace_id)
        if trace.task.id == task_id:
            return trace
    return None
