"""The unit tier's guard: no network socket, no child process.

``tests/unit/conftest.py`` turns it on while each unit test is set up and runs, so a
test (or any fixture it uses, module-scoped ones included) that opens a socket or
starts a process fails at once with a message naming the test and the tier it
belongs in, instead of quietly making ``./dev test --fast`` slow or dependent on
services. Socket pairs (``socket.socketpair()``, which asyncio's event loops use to
wake themselves) and sockets wrapped around an existing descriptor stay allowed:
they reach nothing outside the process.
"""

from __future__ import annotations

import os
import socket
import subprocess
from collections.abc import Callable

import pytest

NETWORK_FAMILIES = {socket.AF_INET, socket.AF_INET6, socket.AF_UNIX}

# os functions that start a process, where the platform has them.
_OS_SPAWNERS = ("fork", "forkpty", "posix_spawn", "posix_spawnp", "system")


class IsolationError(AssertionError):
    """What a unit test gets when it reaches for a socket or a process."""


def _fail(nodeid: str, what: str) -> IsolationError:
    return IsolationError(
        f"{nodeid}: {what} in the unit tier (tests/unit: no subprocess, no socket); "
        "move the test to tests/integration or tests/e2e, or give it an in-process stand-in"
    )


def forbid_sockets_and_processes(monkeypatch: pytest.MonkeyPatch, nodeid: str) -> None:
    """Make network sockets and child processes raise ``IsolationError`` until
    ``monkeypatch`` is undone."""
    real_socket_init = socket.socket.__init__

    def socket_init(self, family=-1, type=-1, proto=-1, fileno=None):  # noqa: A002 (socket.socket's own names)
        resolved = socket.AF_INET if family == -1 else family
        if fileno is None and resolved in NETWORK_FAMILIES:
            name = socket.AddressFamily(resolved).name
            raise _fail(nodeid, f"opening a socket ({name})")
        real_socket_init(self, family, type, proto, fileno)

    monkeypatch.setattr(socket.socket, "__init__", socket_init)

    def popen_init(self, args, *more, **kwargs):
        raise _fail(nodeid, f"starting a subprocess ({args!r})")

    monkeypatch.setattr(subprocess.Popen, "__init__", popen_init)

    def refuse(name: str) -> Callable[..., object]:
        def refused(*args: object, **kwargs: object) -> object:
            raise _fail(nodeid, f"starting a process (os.{name})")

        return refused

    for name in _OS_SPAWNERS:
        if hasattr(os, name):
            monkeypatch.setattr(os, name, refuse(name))
    try:
        import _posixsubprocess  # what multiprocessing's spawn and forkserver use
    except ImportError:
        pass
    else:
        monkeypatch.setattr(_posixsubprocess, "fork_exec", refuse("fork_exec"))
