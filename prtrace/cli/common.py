"""What every ``prtrace`` subcommand shares: options, settings, output, errors.

Errors: a subcommand raises a :class:`prtrace.errors.PrtraceError` (``UsageError``
for bad input) or lets one through, and :func:`run_handler` turns it into
``prtrace: <message>`` and its exit code; subcommands do not catch to report.

Only the standard library (and :mod:`prtrace.errors`, which is only that) is
imported at module level, so that ``prtrace
--help`` stays fast; msgspec, httpx and the client are imported when a command
actually runs.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from datetime import UTC
from typing import TYPE_CHECKING, Any

from prtrace.errors import EXIT_FAILURE, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, PrtraceError  # noqa: F401 - common.EXIT_*

if TYPE_CHECKING:
    from prtrace.client import Client
    from prtrace.config import Settings

Handler = Callable[[argparse.Namespace], int]


# --- options -------------------------------------------------------------------


TOKEN_HELP = "bearer token (default: $PRTRACE_API_TOKEN, else $PRTRACE_HOME/api_token)"


def add_connection_options(
    parser: argparse.ArgumentParser, *, top_level: bool = False, token_help: str = TOKEN_HELP
) -> None:
    """``--url`` and ``--token``, accepted before or after the subcommand.

    The top-level parser holds the real defaults (``None``: use Settings); a
    subparser uses ``SUPPRESS`` so that, when the option is not repeated after
    the subcommand, it does not overwrite what was given before it.
    """
    default = None if top_level else argparse.SUPPRESS
    group = parser.add_argument_group("backend connection")
    group.add_argument(
        "--url",
        default=default,
        metavar="URL",
        help="backend URL (default: $PRTRACE_URL, config.toml, http://127.0.0.1:8000)",
    )
    group.add_argument(
        "--token",
        default=default,
        metavar="TOKEN",
        help=token_help,
    )


def add_json_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--json",
        action="store_true",
        help="print one JSON document on stdout instead of readable text",
    )


def add_wait_options(parser: argparse.ArgumentParser, what: str) -> None:
    """``--wait`` and ``--timeout`` for commands that queue a job."""
    parser.add_argument("--wait", action="store_true", help=f"wait for the job and show {what}")
    parser.add_argument(
        "--timeout",
        type=float,
        default=900.0,
        metavar="SECONDS",
        help="how long --wait waits (default: %(default)s)",
    )


# --- settings and client -------------------------------------------------------

_SETTING_FLAGS = {"url": "url", "token": "api_token", "workers": "workers", "home": "home"}
"""Namespace attribute -> Settings field, for flags that override configuration."""


def settings_from_args(args: argparse.Namespace) -> Settings:
    """Settings with the command-line flags as the top layer (flags > env > file > defaults)."""
    from prtrace.config import load_settings

    overrides = {
        field: getattr(args, attr)
        for attr, field in _SETTING_FLAGS.items()
        if getattr(args, attr, None) is not None
    }
    return load_settings(overrides)


def client_from_args(args: argparse.Namespace) -> Client:
    """A :class:`prtrace.client.Client` for the URL and token the flags and settings give."""
    from prtrace.client import Client

    settings = settings_from_args(args)
    return Client(settings.url, settings.client_token(), settings=settings)


# --- output ----------------------------------------------------------------------


def print_json(obj: Any, stream: Any = None) -> None:
    """Print ``obj`` (Structs, dicts, lists, datetimes...) as ONE indented JSON document."""
    import msgspec

    data = msgspec.json.format(msgspec.json.encode(obj), indent=2)
    out = stream or sys.stdout
    out.write(data.decode("utf-8") + "\n")
    out.flush()


def print_table(rows: list[list[str]], headers: list[str], stream: Any = None) -> None:
    """Left-aligned columns as wide as their widest cell; the last column is not padded."""
    out = stream or sys.stdout
    widths = [max(len(str(row[i])) for row in [headers, *rows]) for i in range(len(headers))]
    for row in [headers, *rows]:
        cells = [str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)]
        out.write("  ".join(cells).rstrip() + "\n")


def error(message: str) -> None:
    """Report a problem the way every prtrace command does: ``prtrace: <message>`` on stderr."""
    sys.stderr.write(f"prtrace: {message}\n")
    sys.stderr.flush()


def describe_exception(exc: BaseException) -> tuple[str, int] | None:
    """The message and exit code for an expected failure, or None for a bug.

    The one place errors become what the user sees: every error prtrace raises
    on purpose is a :class:`~prtrace.errors.PrtraceError` and carries its own
    ``exit_code`` (the tree is in :mod:`prtrace.errors`); anything else is a bug
    and keeps its traceback.
    """
    if isinstance(exc, PrtraceError):
        return str(exc), exc.exit_code
    return None


def run_handler(handler: Handler, args: argparse.Namespace) -> int:
    """Run a command, turning expected failures into ``prtrace: ...`` and an exit code.

    Subcommands raise and never catch to report: this is where a
    :class:`~prtrace.errors.PrtraceError` becomes its message and exit code.
    """
    try:
        return handler(args)
    except KeyboardInterrupt:
        error("interrupted")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # `prtrace trace export | head`: the reader left; that is not an error.
        _silence_stdout()
        return EXIT_OK
    except Exception as exc:
        described = describe_exception(exc)
        if described is None:
            raise
        message, code = described
        error(message)
        return code


def _silence_stdout() -> None:
    """Point stdout at /dev/null so that flushing it at exit raises nothing more."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass


def import_backend(module: str) -> Any:
    """Import a backend module, saying how to install it if its dependencies are missing."""
    import importlib

    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        missing = exc.name or ""
        ours = missing == module or module.startswith(missing + ".")
        if ours or missing.split(".")[0] in _BACKEND_DEPS:
            raise PrtraceError(
                f"the backend is not available ({exc}); install it with "
                "pip install 'prtrace[backend]'"
            ) from None
        raise


_BACKEND_DEPS = frozenset(
    {"litestar", "uvicorn", "sqlalchemy", "aiosqlite", "asyncpg", "alembic", "minio"}
)


# --- argument types --------------------------------------------------------------

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_time(text: str) -> Any:
    """An argparse ``type`` for times: RFC 3339, a date, or an age like ``90m``/``12h``/``7d``.

    A time without a zone is taken as UTC (the server compares zone-aware
    times); an age counts back from now.
    """
    from datetime import datetime, timedelta

    value = text.strip()
    unit = value[-1:].lower()
    if unit in _UNITS and value[:-1].isdigit():
        return datetime.now(UTC) - timedelta(seconds=int(value[:-1]) * _UNITS[unit])
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a time: use RFC 3339 (2024-05-01T12:00:00Z), "
            "a date (2024-05-01) or an age (30m, 12h, 7d, 2w)"
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def positive_int(text: str) -> int:
    """An argparse ``type`` for counts that must be at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be 1 or more")
    return value
