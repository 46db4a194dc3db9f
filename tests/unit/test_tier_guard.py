"""The unit tier's guard trips (tests/unit/conftest.py, tests/support/isolation.py): a
network socket or a child process fails the test with a message naming it, in the
test and in its fixtures, module-scoped ones included; what asyncio and socket pairs
need stays allowed. And every test file sits in a tier."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.isolation import IsolationError

TESTS = Path(__file__).resolve().parents[1]


def _names_this_test(request: pytest.FixtureRequest) -> str:
    return f"^{re.escape(request.node.nodeid)}: .* in the unit tier"


@pytest.mark.parametrize(
    "family", [socket.AF_INET, socket.AF_INET6, socket.AF_UNIX], ids=["inet", "inet6", "unix"]
)
def test_a_network_socket_fails_naming_the_test(
    family: int, request: pytest.FixtureRequest
) -> None:
    with pytest.raises(IsolationError, match=_names_this_test(request)) as refused:
        socket.socket(family, socket.SOCK_STREAM)
    assert socket.AddressFamily(family).name in str(refused.value)
    assert "tests/integration" in str(refused.value)


def test_a_connection_by_any_route_fails(request: pytest.FixtureRequest) -> None:
    with pytest.raises(IsolationError, match=_names_this_test(request)):
        socket.create_connection(("127.0.0.1", 9), timeout=1)
    with pytest.raises(IsolationError, match=_names_this_test(request)):
        socket.socket()  # the default family is AF_INET


def test_a_subprocess_fails_naming_the_test(request: pytest.FixtureRequest) -> None:
    with pytest.raises(IsolationError, match=_names_this_test(request)) as refused:
        subprocess.run(["git", "--version"], check=False)
    assert "'git'" in str(refused.value)
    with pytest.raises(IsolationError, match=_names_this_test(request)):
        subprocess.Popen([sys.executable, "-c", "pass"])


@pytest.mark.parametrize("name", ["fork", "system", "posix_spawn"])
def test_os_process_calls_fail(name: str, request: pytest.FixtureRequest) -> None:
    calls = {
        "fork": lambda: os.fork(),
        "system": lambda: os.system("true"),
        "posix_spawn": lambda: os.posix_spawn("/bin/true", ["true"], {}),
    }
    with pytest.raises(IsolationError, match=_names_this_test(request)):
        calls[name]()


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_multiprocessing_fails(method: str) -> None:
    process = multiprocessing.get_context(method).Process(target=print)
    with pytest.raises(IsolationError):
        process.start()


def test_asyncio_subprocesses_fail(request: pytest.FixtureRequest) -> None:
    async def start() -> None:
        await asyncio.create_subprocess_exec("true")

    with pytest.raises(IsolationError, match=_names_this_test(request)):
        asyncio.run(start())


def test_socket_pairs_and_event_loops_stay_allowed() -> None:
    left, right = socket.socketpair()
    with left, right:
        left.sendall(b"ping")
        assert right.recv(4) == b"ping"
    assert asyncio.run(asyncio.sleep(0, result="loop ran")) == "loop ran"


@pytest.fixture(scope="module")
def module_fixture_that_starts_git() -> BaseException | None:
    try:
        subprocess.run(["git", "--version"], check=False)
    except IsolationError as exc:
        return exc
    return None


def test_the_guard_covers_module_scoped_fixtures(
    module_fixture_that_starts_git: BaseException | None, request: pytest.FixtureRequest
) -> None:
    """A module fixture is set up before any function fixture: an autouse fixture
    would miss it; the guard is around the whole set-up."""
    assert isinstance(module_fixture_that_starts_git, IsolationError)
    assert str(module_fixture_that_starts_git).startswith(request.node.nodeid + ": ")


def test_every_test_file_sits_in_a_tier() -> None:
    tiers = {"unit", "integration", "e2e"}
    misplaced = [
        str(path.relative_to(TESTS))
        for path in TESTS.rglob("test_*.py")
        if path.relative_to(TESTS).parts[0] not in tiers
    ]
    assert misplaced == [], "test files outside tests/{unit,integration,e2e}/"
    for tier in tiers:
        assert (TESTS / tier / "conftest.py").is_file(), tier
        assert (TESTS / tier / "__init__.py").is_file(), tier
