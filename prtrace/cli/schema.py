"""``prtrace schema``: the JSON Schema of the trace format."""

from __future__ import annotations

import argparse

from prtrace.cli import common


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "schema",
        help="print the JSON Schema of the trace format",
        description=(
            "Print the JSON Schema (2020-12) of a trace document, generated from the "
            "msgspec types; the backend serves the same document at /trace-schema.json. "
            "With --dialect seed, the seed's shape (trace-1.0.0) instead."
        ),
    )
    parser.add_argument(
        "--dialect",
        choices=("native", "seed"),
        default="native",
        help="native: prtrace's own format (default); seed: the seed's trace-1.0.0",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    if args.dialect == "seed":
        from prtrace.dialects.seed import seed_schema

        common.print_json(seed_schema())
        return common.EXIT_OK
    from prtrace.schema import trace_schema

    common.print_json(trace_schema())
    return common.EXIT_OK
