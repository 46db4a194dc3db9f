"""Worker processes driven from the event loop itself: a socket pair per worker, no threads.

``concurrent.futures.ProcessPoolExecutor`` runs two threads in the server's process
(one pickles calls into a pipe, one reads results and wakes the loop); on ingest
they cost the server ~4 µs of CPU per event in GIL hand-offs and wake-ups, as much
as its ``COPY``. Here the event loop writes each call to a worker's socket and reads
the answers back as they come: one frame each way, nothing else awake.

A worker that dies (killed, out of memory) fails the calls it held with
:class:`WorkerLost` and is started again; the pool never turns broken for good.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import multiprocessing
import pickle
import socket
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)

_HEADER = struct.Struct("!Q")
"""Each frame: its length, then a pickle: ``(function, args)`` in, ``(ok, value)`` out."""


class WorkerLost(Exception):
    """The worker holding a call ended before answering it."""


def _serve(sock: socket.socket, warm_up: Callable[[], None] | None) -> None:
    """A worker's whole life: answer frames in order until the server closes its end."""
    if warm_up is not None:
        warm_up()
    with sock:
        while True:
            header = _read_exactly(sock, _HEADER.size)
            if header is None:
                return
            body = _read_exactly(sock, _HEADER.unpack(header)[0])
            if body is None:
                return
            function, args = pickle.loads(body)
            try:
                answer = (True, function(*args))
            except Exception as exc:  # noqa: BLE001 - sent back, raised in the caller
                answer = (False, exc)
            sock.sendall(_frame(answer))


def _frame(answer: tuple[bool, Any]) -> bytes:
    try:
        data = pickle.dumps(answer, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception as exc:  # noqa: BLE001 - an exception that does not pickle
        data = pickle.dumps((False, RuntimeError(f"in a decoder process: {exc!r}")))
    return _HEADER.pack(len(data)) + data


def _read_exactly(sock: socket.socket, size: int) -> bytearray | None:
    """``size`` bytes, or None at the end; the buffer itself (pickle reads it as it is)."""
    buffer = bytearray(size)
    view = memoryview(buffer)
    got = 0
    while got < size:
        n = sock.recv_into(view[got:])
        if n == 0:
            return None
        got += n
    return buffer


@dataclass
class _Worker:
    process: Any
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    pending: collections.deque[asyncio.Future[Any]] = field(default_factory=collections.deque)
    task: asyncio.Task[None] | None = None


class DecoderPool:
    """``processes`` workers started from a forkserver (never a fork of the server)."""

    def __init__(self, processes: int, warm_up: Callable[[], None] | None = None) -> None:
        self.processes = processes
        self._warm_up = warm_up
        self._context = multiprocessing.get_context("forkserver")
        self._workers: list[_Worker] = []
        self._closed = False

    async def start(self) -> None:
        for _ in range(self.processes):
            self._workers.append(await self._spawn())

    async def _spawn(self) -> _Worker:
        ours, theirs = socket.socketpair()
        process = self._context.Process(
            target=_serve, args=(theirs, self._warm_up), daemon=True, name="prtrace-decoder"
        )
        await asyncio.to_thread(process.start)  # the forkserver's first start takes a while
        theirs.close()
        reader, writer = await asyncio.open_unix_connection(sock=ours, limit=2**26)
        worker = _Worker(process, reader, writer)
        worker.task = asyncio.create_task(self._answers(worker))
        return worker

    def submit(self, function: Callable[..., Any], *args: Any) -> asyncio.Future[Any]:
        """Send ``function(*args)`` to the least busy worker now; the future gets what
        it returns, or what it raised, or :class:`WorkerLost`."""
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        if self._closed or not self._workers:
            future.set_exception(WorkerLost("no decoder process is running"))
            return future
        worker = min(self._workers, key=lambda w: len(w.pending))
        data = pickle.dumps((function, args), protocol=pickle.HIGHEST_PROTOCOL)
        worker.pending.append(future)
        worker.writer.write(_HEADER.pack(len(data)) + data)
        return future

    async def _answers(self, worker: _Worker) -> None:
        """Read the worker's answers in order; when it ends, fail what it held and
        start another in its place."""
        try:
            while True:
                header = await worker.reader.readexactly(_HEADER.size)
                body = await worker.reader.readexactly(_HEADER.unpack(header)[0])
                future = worker.pending.popleft()
                if future.done():  # its caller has gone (a cancelled request)
                    continue
                ok, value = pickle.loads(body)
                if ok:
                    future.set_result(value)
                else:
                    future.set_exception(value)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        self._drop(worker)
        if not self._closed:
            await asyncio.to_thread(worker.process.join, 5)
            log.warning(
                "a decoder process ended (exit code %s); starting another",
                worker.process.exitcode,
            )
            self._workers.append(await self._spawn())

    def _drop(self, worker: _Worker) -> None:
        with contextlib.suppress(ValueError):
            self._workers.remove(worker)
        while worker.pending:
            future = worker.pending.popleft()
            if not future.done():
                future.set_exception(WorkerLost("the decoder process ended"))
        worker.writer.close()

    async def close(self) -> None:
        """Stop every worker: its socket closed, it ends; killed if it does not."""
        self._closed = True
        workers, self._workers = self._workers, []
        for worker in workers:
            if worker.task is not None:
                worker.task.cancel()
            self._drop(worker)
        for worker in workers:
            await asyncio.to_thread(worker.process.join, 5)
            if worker.process.is_alive():
                worker.process.kill()
                await asyncio.to_thread(worker.process.join, 5)
