"""``prtrace serve``: the REST API with its embedded QA worker(s)."""

from __future__ import annotations

import argparse

from prtrace.cli import common
from prtrace.errors import UsageError


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "serve",
        help="run the backend: REST API and embedded QA worker(s)",
        description=(
            "Run the prtrace backend (Litestar on uvicorn) with QA workers embedded. "
            "Blocks until interrupted. Database, blob store and API token come from "
            "the settings (PRTRACE_HOME, PRTRACE_DATABASE_URL, PRTRACE_BLOB_URL, ...)."
        ),
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default: %(default)s)"
    )
    parser.add_argument(
        "--port", type=int, default=8000, help="port to listen on (default: %(default)s)"
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=None,
        metavar="N",
        help="QA workers to embed, 0 for none (default: $PRTRACE_WORKERS or 1)",
    )
    parser.add_argument(
        "--processes",
        type=int,
        default=1,
        metavar="N",
        help="server processes sharing the port, to use more cores (default: %(default)s)",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    if args.workers is not None and args.workers < 0:
        raise UsageError("--workers must be 0 or more")
    if args.processes < 1:
        raise UsageError("--processes must be 1 or more")
    settings = common.settings_from_args(args)
    server = common.import_backend("prtrace.backend.server")
    server.serve(settings, host=args.host, port=args.port, processes=args.processes)
    return common.EXIT_OK
