"""Logging for the long-running processes (``prtrace serve``, ``prtrace worker``)."""

from __future__ import annotations

import logging

_QUIET = ("alembic.runtime.plugins",)
"""Loggers that speak at INFO about nothing an operator needs: Alembic names each of
its built-in plugins as it imports them, seven lines on every start."""


def configure(level: str) -> None:
    """One format for every logger, at the configured level (``PRTRACE_LOG_LEVEL``)."""
    logging.basicConfig(format="%(asctime)s %(name)s %(message)s")  # if none is set yet
    logging.getLogger().setLevel(level.upper())
    for name in _QUIET:
        logging.getLogger(name).setLevel(max(logging.WARNING, logging.getLogger().level))
