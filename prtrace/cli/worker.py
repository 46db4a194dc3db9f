"""``prtrace worker``: a standalone QA worker against the same database as the API."""

from __future__ import annotations

import argparse

from prtrace.cli import common
from prtrace.errors import UsageError


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "worker",
        help="run standalone QA worker(s) against the backend's database",
        description=(
            "Claim QA jobs from the database (PRTRACE_DATABASE_URL) and run them: "
            "apply the patch, run the tests in Docker, ask the LLM judge. "
            "Blocks until interrupted. Run as many as you like, on any machine."
        ),
    )
    parser.add_argument(
        "--concurrency",
        type=int,
        default=1,
        metavar="N",
        help="jobs this process runs at once (default: %(default)s)",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    if args.concurrency < 1:
        raise UsageError("--concurrency must be 1 or more")
    settings = common.settings_from_args(args)
    worker = common.import_backend("prtrace.backend.jobs.worker")
    worker.run_standalone(settings, concurrency=args.concurrency)
    return common.EXIT_OK
