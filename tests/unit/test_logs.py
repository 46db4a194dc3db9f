"""backend/logs.py: the server's log, without the noise of its dependencies."""

from __future__ import annotations

import logging

from prtrace.backend import logs


def test_alembic_names_no_plugins_but_still_says_what_it_migrates() -> None:
    logs.configure("info")
    assert not logging.getLogger("alembic.runtime.plugins").isEnabledFor(logging.INFO)
    assert logging.getLogger("alembic.runtime.migration").isEnabledFor(logging.INFO)


def test_debug_still_hears_nothing_from_alembics_plugin_list() -> None:
    logs.configure("debug")
    assert not logging.getLogger("alembic.runtime.plugins").isEnabledFor(logging.DEBUG)
