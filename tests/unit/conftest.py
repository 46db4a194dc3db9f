"""The unit tier: no subprocess, no socket — pure functions, in-process objects, tmp files.

``./dev test --fast`` runs this folder alone, with no services provisioned, in
seconds. The tier enforces itself: while a unit test is set up (its fixtures,
module- and session-scoped ones included) and while it runs, creating a network
socket (AF_INET, AF_INET6, AF_UNIX) or starting a process (``subprocess.Popen``,
``os.fork``, ``os.posix_spawn``, ``os.system``, multiprocessing) raises
``IsolationError`` naming the test (tests/support/isolation.py). Teardown is left
alone: the last test of a full run also tears down the session's services.

A test that needs a real server, a database server, git or any other program
belongs in tests/integration; Docker, editors, browsers and real shells in
tests/e2e. The backend's API can be tested here in process, through litestar's
TestClient on SQLite in a tmp folder (tests/support/app_server.py).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.isolation import forbid_sockets_and_processes


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        forbid_sockets_and_processes(patch, item.nodeid)
        yield


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        forbid_sockets_and_processes(patch, item.nodeid)
        yield
