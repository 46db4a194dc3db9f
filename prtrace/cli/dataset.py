"""``prtrace dataset build OUT``: verified traces as a Hugging Face dataset folder."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from prtrace.cli import common


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    from prtrace.cli.trace import _add_filters

    parser = subparsers.add_parser(
        "dataset",
        help="build datasets (SWE-bench instances, ATIF trajectories) from traces",
        description="Datasets from the backend's traces (docs/datasets.md).",
    )
    parser.set_defaults(help_parser=parser)
    commands = parser.add_subparsers(dest="dataset_command", metavar="SUBCOMMAND")
    build = commands.add_parser(
        "build",
        help="write a Hugging Face dataset folder from the matching traces",
        description=(
            "Stream the matching traces (default: sealed, QA verdict resolved) from the "
            "backend and write OUT: SWE-bench instances, predictions and ATIF trajectories "
            "as JSONL and parquet per split, with a dataset card (README.md). Memory stays "
            "constant however many traces there are. Every string is checked by the "
            "redactor again: the build refuses, naming the trace and field, if a detector "
            "still fires."
        ),
    )
    common.add_connection_options(build)
    build.add_argument("out", metavar="OUT", help="the folder to write (must be new or empty)")
    _add_filters(build)
    build.add_argument(
        "--any-verdict",
        action="store_true",
        help="do not keep only resolved traces (the default filter is --verdict resolved)",
    )
    build.add_argument(
        "--splits",
        default="train=0.8,test=0.2",
        metavar="NAME=SHARE,…",
        help="splits by a stable hash of the task (default: %(default)s)",
    )
    build.add_argument(
        "--swebench-strings",
        action="store_true",
        help="FAIL_TO_PASS/PASS_TO_PASS as JSON strings, as the original SWE-bench stores them",
    )
    build.add_argument(
        "--hash-names", action="store_true", help="developers as hashes (h-…), not their ids"
    )
    build.add_argument("--license", default="other", help="the card's licence (default: other)")
    build.add_argument("--name", default=None, help="the card's pretty name")
    build.add_argument("--force", action="store_true", help="replace OUT if it exists")
    build.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    common.add_json_option(build)
    build.set_defaults(handler=run_build)


def build_filters(args: argparse.Namespace) -> dict[str, Any]:
    """The export filters: the trace filters given, sealed and resolved by default."""
    from prtrace.cli.trace import _filters

    filters = _filters(args)
    if filters.get("status") is None:
        filters["status"] = "sealed"
    if not filters.get("verdict") and not args.any_verdict:
        filters["verdict"] = ["resolved"]
    return filters


def run_build(args: argparse.Namespace) -> int:
    from prtrace.cli.progress import counted
    from prtrace.datasets.build import BuildOptions, build_dataset, require_pyarrow
    from prtrace.datasets.splits import parse_splits

    require_pyarrow()
    options = BuildOptions(
        swebench_strings=args.swebench_strings,
        hash_names=args.hash_names,
        splits=parse_splits(args.splits),
        license_id=args.license,
    )
    if args.name:
        options.pretty_name = args.name
    filters = build_filters(args)
    out = Path(args.out)
    with common.client_from_args(args) as api:
        stream = api.export(**filters)
        with counted(stream, "building dataset", enabled=not args.no_progress) as documents:
            report = build_dataset(documents, out, options, filters=filters, overwrite=args.force)
    if args.json:
        common.print_json(
            {
                "out": str(report.out),
                "traces": report.traces,
                "tasks": report.tasks,
                "verdicts": report.verdicts,
                "splits": report.splits,
            }
        )
    splits = report.splits.get("instances", {})
    per_split = ", ".join(f"{name} {s['rows']}" for name, s in sorted(splits.items())) or "empty"
    noun = "trace" if report.traces == 1 else "traces"
    print(
        f"built {out}: {report.traces} {noun}, {report.tasks} tasks ({per_split})",
        file=sys.stderr,
    )
    return common.EXIT_OK
