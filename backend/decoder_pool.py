"""Worker processes driven from the event loop itself: a socket pair per worker, no threads.

``concurrent.futures.ProcessPoolExecutor`` runs two threads in the server's process
(one pickles calls into a pipe, one reads results and wakes the loop); on ingest
they cost the server ~4 µs of CPU per event in GIL hand-offs and wake-ups, as much
as its ``COPY``. Here the event loop writes each call to a worker's socket and reads
the answers back as they come: one frame each way, nothing else awake.

A worker that dies (killed, out of memory) fails the calls it held with
:class:`WorkerLost` and is started again; the pool never turns broken for good.

Each worker also maps a block of shared-memory slots (:mod:`.shared_slots`): a
caller that :meth:`DecoderPool.reserve` s one writes its data there and sends only
where it is.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import multiprocessing
import pickle
import signal
import socket
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from prtrace.backend import shared_slots
from prtrace.backend.shared_slots import Slot, SlotArena

log = logging.getLogger(__name__)

_HEADER = struct.Struct("!Q")
"""Each frame: its length, then a pickle: ``(function, args)`` in, ``(ok, value)`` out."""


class WorkerLost(Exception):
    """The worker holding a call ended before answering it."""


def _serve(sock: socket.socket, warm_up: Callable[[], None] | None) -> None:
    """A worker's whole life: answer frames in order until the server closes its end.

    Ctrl-C in a terminal (and ``kill`` of the process group) reaches the workers
    too; they leave ending to the server, which closes their sockets as it shuts
    down (or dies, which closes them as well). Ended by the signal, they would die
    first, with a traceback each, and the server would start others in their place.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
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
        try:
            n = sock.recv_into(view[got:])
        except ConnectionError:  # the server's end went away: as good as closed
            return None
        if n == 0:
            return None
        got += n
    return buffer


@dataclass
class _Call:
    """A call sent to a worker: its future, and the slot it lent the worker, if any."""

    future: asyncio.Future[Any]
    slot: Slot | None = None

    def settled(self) -> None:
        """The worker is done with the call (answered it, or ended)."""
        if self.slot is not None:
            self.slot.release()
            self.slot = None


@dataclass
class _Worker:
    process: Any
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    arena: SlotArena | None = None
    pending: collections.deque[_Call] = field(default_factory=collections.deque)
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
            await self._spawn()

    async def _spawn(self) -> None:
        """Start a worker, map its slots, and add it to the pool (unless it died meanwhile:
        then the one started in its place is added)."""
        if self._closed:
            return
        ours, theirs = socket.socketpair()
        process = self._context.Process(
            target=_serve, args=(theirs, self._warm_up), daemon=True, name="prtrace-decoder"
        )
        await asyncio.to_thread(process.start)  # the forkserver's first start takes a while
        theirs.close()
        reader, writer = await asyncio.open_unix_connection(sock=ours, limit=2**26)
        worker = _Worker(process, reader, writer)
        worker.task = asyncio.create_task(self._answers(worker))
        arena = SlotArena.create()
        if arena is not None:
            try:
                await self._send(worker, shared_slots.attach, (arena.name,))
            except Exception:
                log.warning("a decoder process could not map its shared slots", exc_info=True)
                arena.retire()
            else:
                worker.arena = arena
            arena.unlink()  # mapped on both sides now: nothing left behind, however we end
        if self._closed:  # the pool closed while this one started: stop it as well
            self._drop(worker)
            await self._stop(worker)
        elif not worker.writer.is_closing():
            self._workers.append(worker)

    def reserve(self) -> tuple[Any, Slot] | None:
        """The least busy worker with a free slot, and the slot (for :meth:`submit`'s
        ``slot``: the caller writes the call's data in it), or None."""
        for worker in sorted(self._workers, key=lambda w: len(w.pending)):
            slot = worker.arena.take() if worker.arena is not None else None
            if slot is not None:
                return worker, slot
        return None

    def submit(
        self,
        function: Callable[..., Any],
        *args: Any,
        reserved: tuple[Any, Slot] | None = None,
    ) -> asyncio.Future[Any]:
        """Send ``function(*args)`` to the least busy worker now (or to the one
        ``reserved`` with its slot, which the worker holds until it answers); the
        future gets what it returns, or what it raised, or :class:`WorkerLost`."""
        worker, slot = reserved if reserved is not None else (None, None)
        if worker is None and self._workers:
            worker = min(self._workers, key=lambda w: len(w.pending))
        return self._send(worker, function, args, slot)

    def _send(
        self,
        worker: _Worker | None,
        function: Callable[..., Any],
        args: tuple[Any, ...],
        slot: Slot | None = None,
    ) -> asyncio.Future[Any]:
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        call = _Call(future, slot)
        if self._closed or worker is None or worker.writer.is_closing():
            call.settled()
            future.set_exception(WorkerLost("no decoder process is running"))
            return future
        data = pickle.dumps((function, args), protocol=pickle.HIGHEST_PROTOCOL)
        worker.pending.append(call)
        worker.writer.write(_HEADER.pack(len(data)) + data)
        return future

    async def _answers(self, worker: _Worker) -> None:
        """Read the worker's answers in order; when it ends, fail what it held and
        start another in its place."""
        try:
            while True:
                header = await worker.reader.readexactly(_HEADER.size)
                body = await worker.reader.readexactly(_HEADER.unpack(header)[0])
                call = worker.pending.popleft()
                call.settled()
                future = call.future
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
            await self._spawn()

    def _drop(self, worker: _Worker) -> None:
        with contextlib.suppress(ValueError):
            self._workers.remove(worker)
        while worker.pending:
            call = worker.pending.popleft()
            call.settled()
            if not call.future.done():
                call.future.set_exception(WorkerLost("the decoder process ended"))
        if worker.arena is not None:
            worker.arena.retire()
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
            await self._stop(worker)

    @staticmethod
    async def _stop(worker: _Worker) -> None:
        """Wait for a dropped worker to end (its socket is closed); kill it if it does not."""
        await asyncio.to_thread(worker.process.join, 5)
        if worker.process.is_alive():
            worker.process.kill()
            await asyncio.to_thread(worker.process.join, 5)
