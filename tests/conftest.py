"""Fixtures the tiers share, and the tier layout itself.

The suite has three tiers, one folder each, with a conftest of its own:

- ``tests/unit/``: no subprocess, no socket (pure functions, in-process objects, tmp
  files); ``./dev test --fast`` runs it alone, and its conftest makes a socket or a
  child process fail the test.
- ``tests/integration/``: real servers on loopback and real databases (PostgreSQL, moto
  S3, ``prtrace serve`` processes, language servers, git and the CLI as subprocesses).
- ``tests/e2e/``: Docker, editors, browsers, real shells in tmux, the demo.

Helpers that are not fixtures live in ``tests/support/`` (imported by name); fixtures
live in conftests and are never imported. This file holds only the fixtures more
than one tier uses: the real ``prtrace serve`` processes (integration and e2e).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from prtrace.demo.server import ServerProcess

TIERS = ("unit", "integration", "e2e")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Each test carries its tier's marker (``-m unit``, ``-m "not e2e"``), and no test
    sits outside a tier."""
    here = Path(__file__).parent
    for item in items:
        try:
            tier = item.path.relative_to(here).parts[0]
        except ValueError:
            continue  # a test outside tests/ (given on the command line)
        if tier not in TIERS:
            raise pytest.UsageError(
                f"{item.nodeid}: every test belongs in a tier, tests/{{{','.join(TIERS)}}}/"
            )
        item.add_marker(tier)


# --- prtrace server (a real `prtrace serve` process) -----------------------------------


@pytest.fixture
def start_prtrace_server(tmp_path: Path) -> Iterator[Callable[..., ServerProcess]]:
    """A factory for real ``prtrace serve`` processes with settings of your own,
    e.g. ``start_prtrace_server(env={"PRTRACE_DATABASE_URL": pg_url})``.

    Each is healthy when returned and stopped after the test. QA on finalize
    is off unless ``env`` turns it on (it needs Docker).
    """
    started: list[ServerProcess] = []

    def start(env: dict[str, str] | None = None, home: Path | None = None) -> ServerProcess:
        settings = {"PRTRACE_QA_ON_FINALIZE": "false", **(env or {})}
        server = ServerProcess(home or tmp_path / f"prtrace-home-{len(started)}", env=settings)
        started.append(server)
        return server.start()

    yield start
    for server in started:
        server.stop()


@pytest.fixture(scope="module")
def module_prtrace_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One real ``prtrace serve`` shared by a whole test module (QA on finalize off), for
    files whose tests each make their own traces and do not disturb each other."""
    server = ServerProcess(
        tmp_path_factory.mktemp("module-server") / "prtrace-home",
        env={"PRTRACE_QA_ON_FINALIZE": "false"},
    )
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def prtrace_server(start_prtrace_server: Callable[..., ServerProcess]) -> ServerProcess:
    """A real ``prtrace serve`` on a free loopback port, healthy when yielded.

    It has a private ``PRTRACE_HOME`` (``.home``), an API token
    (``.api_token``) and its ``.url``; ``.kill9()`` crashes it and
    ``.restart()`` brings it back on the same port and home (``.log_tail()``
    shows what it printed). SQLite and blob folder in its home; QA on
    finalize off.
    """
    return start_prtrace_server()
