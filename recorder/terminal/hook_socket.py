"""The shell hook's transport: records go to the daemon over loopback, never to disk.

The rc hook (:mod:`prtrace.recorder.terminal.hooks`) runs inside the user's shell, where no
redactor can run. Writing its raw command lines to a file would be a queue
written before the filter — the known way secrets leak (docs/privacy.md). So
bash (``/dev/tcp``) and zsh (``zsh/net/tcp``) send each record to a listener
in the session's daemon instead, which redacts it on the way into the spool.

The daemon writes ``.prtrace/hook/endpoint`` (mode 0600): the port and a
random token. A connection's first line must be that token, so other local
users cannot inject commands. While no daemon listens, the connection is
refused at once and the hook drops the record: the shell never waits.

The same socket carries more than shell records. After the token line, a
connection that starts with ``\x01`` is one *message*: ``\x01<kind>\n`` and then
its body, to the end of the connection (``kind`` says who reads it, e.g.
``agent:claude-code`` for :mod:`prtrace.recorder.agents`). Anything else is
shell records, in the wire format the rc snippets have always sent. A message
is handed to ``on_message`` as soon as it is read — the daemon redacts and
spools it there — so a message the daemon accepted is in the spool even if the
daemon is killed a moment later. :func:`send_message` is the client side,
bounded in time: it gives up at once when nothing listens.
"""

from __future__ import annotations

import hmac
import os
import secrets
import socket
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the agents' hook imports this module: keep its start-up light
    from prtrace.recorder.terminal.commands import CommandRecord

ENDPOINT_FILE = "endpoint"
HOOK_DIR = "hook"
"""``.prtrace/hook/``: where the endpoint file lives (and old snippets' logs)."""
MAX_RECORD_BYTES = 1024 * 1024
"""A command line longer than this is cut (a record is one command)."""
MAX_MESSAGE_BYTES = 8 * 1024 * 1024
"""A message (an agent's hook payload) longer than this is dropped whole, not cut."""
MESSAGE = b"\x01"

MessageHandler = Callable[[str, bytes], None]
"""Called with a message's kind and body, on the listener's thread."""


class HookListener:
    """Accepts hook records on 127.0.0.1 and keeps them until :meth:`drain`."""

    def __init__(self, hook_dir: Path, on_message: MessageHandler | None = None) -> None:
        self.endpoint = hook_dir / ENDPOINT_FILE
        self.on_message = on_message
        self.token = secrets.token_hex(16)
        self._sock: socket.socket | None = None
        self._records: list[CommandRecord] = []
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()

    def start(self) -> HookListener:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        sock.listen(64)
        sock.settimeout(0.5)  # so the accept loop sees stop() promptly
        self._sock = sock
        self._write_endpoint(sock.getsockname()[1])
        self._thread = threading.Thread(target=self._accept, name="prtrace-hook", daemon=True)
        self._thread.start()
        return self

    def _write_endpoint(self, port: int) -> None:
        tmp = self.endpoint.with_name(f".{ENDPOINT_FILE}.{os.getpid()}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(f"{port} {self.token}\n")
        os.replace(tmp, self.endpoint)

    def _accept(self) -> None:
        assert self._sock is not None
        while not self._stopping.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with conn:
                self._receive(conn)

    def _receive(self, conn: socket.socket) -> None:
        from prtrace.recorder.terminal.hooks import parse_records

        conn.settimeout(2.0)
        chunks, size = [], 0
        try:
            while size <= MAX_MESSAGE_BYTES:
                chunk = conn.recv(65536)
                if not chunk:
                    break
                chunks.append(chunk)
                size += len(chunk)
        except OSError:
            return
        token, _, data = b"".join(chunks).partition(b"\n")
        if not hmac.compare_digest(token.strip(), self.token.encode()):
            return
        if data.startswith(MESSAGE):
            if size > MAX_MESSAGE_BYTES:
                return
            kind, _, body = data[1:].partition(b"\n")
            if self.on_message is not None:
                self.on_message(kind.decode("utf-8", "replace").strip(), body)
            return
        records, _ = parse_records(data[:MAX_RECORD_BYTES])
        with self._lock:
            self._records.extend(records)

    def drain(self) -> list[CommandRecord]:
        """The records received since the last drain, in arrival order."""
        with self._lock:
            records, self._records = self._records, []
        return records

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._take_backlog()
        try:
            if self.endpoint.read_text().split()[-1] == self.token:
                self.endpoint.unlink()
        except (OSError, IndexError):
            pass
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def _take_backlog(self) -> None:
        """Read the connections the kernel accepted but the loop had not yet: a client
        that connected before the stop has handed its record over."""
        if self._sock is None:
            return
        self._sock.setblocking(False)
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            with conn:
                conn.setblocking(True)
                self._receive(conn)


def find_hook_dir(start: Path) -> Path | None:
    """The nearest ``.prtrace/hook/`` at or above ``start`` (a recorded workspace's)."""
    from prtrace.recorder.session.workspace import STATE_DIR

    for folder in (start, *start.parents):
        candidate = folder / STATE_DIR / HOOK_DIR
        if candidate.is_dir():
            return candidate
    return None


def send_message(hook_dir: Path, kind: str, body: bytes, *, timeout: float = 0.5) -> bool:
    """Hand one message to the daemon listening for ``hook_dir``; False if none took it.

    Never raises and never waits long: no endpoint file, a refused or slow
    connection, all give False within ``timeout``.
    """
    try:
        port_text, token = (hook_dir / ENDPOINT_FILE).read_text().split()[:2]
        port = int(port_text)
    except (OSError, ValueError):
        return False
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as conn:
            conn.settimeout(timeout)
            conn.sendall(token.encode() + b"\n" + MESSAGE + kind.encode() + b"\n" + body)
            conn.shutdown(socket.SHUT_WR)
    except OSError:
        return False
    return True
