"""The decoder pool: real worker processes behind a socket pair each (backend/decoder_pool.py).

The calls are builtins, so the workers (started by a forkserver) need nothing of the tests.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time

import pytest

from prtrace.backend.decoder_pool import DecoderPool, WorkerLost


def test_calls_come_back_to_their_callers_and_errors_are_raised_there() -> None:
    async def main() -> None:
        pool = DecoderPool(2)
        await pool.start()
        try:
            futures = [pool.submit(divmod, n, 7) for n in range(200)]
            assert await asyncio.gather(*futures) == [divmod(n, 7) for n in range(200)]
            with pytest.raises(ValueError, match="invalid literal"):
                await pool.submit(int, "not a number")
            big = b"x" * 5_000_000  # many socket reads each way
            assert await pool.submit(bytes.upper, big) == big.upper()
        finally:
            await pool.close()
        assert pool.submit(len, b"").exception() is not None, "closed: refused at once"

    asyncio.run(main())


def test_a_killed_worker_fails_its_calls_and_is_replaced() -> None:
    """A decoder killed mid-call (the OOM killer, an operator) must not leave the
    server's pool broken: its call gets WorkerLost, the next ones are answered."""

    async def main() -> None:
        pool = DecoderPool(1)
        await pool.start()
        try:
            first = pool._workers[0].process
            slow = pool.submit(time.sleep, 30)
            await asyncio.sleep(0.2)
            os.kill(first.pid, signal.SIGKILL)
            with pytest.raises(WorkerLost):
                await asyncio.wait_for(slow, 30)
            for _ in range(300):  # the replacement starts from the forkserver
                if pool._workers and pool._workers[0].process is not first:
                    break
                await asyncio.sleep(0.1)
            assert await asyncio.wait_for(pool.submit(divmod, 9, 4), 30) == (2, 1)
            assert not first.is_alive()
        finally:
            await pool.close()
        assert all(not w.process.is_alive() for w in pool._workers)

    asyncio.run(main())


def test_close_ends_every_worker() -> None:
    async def main() -> list[int]:
        pool = DecoderPool(2)
        await pool.start()
        pids = [w.process.pid for w in pool._workers]
        processes = [w.process for w in pool._workers]
        await pool.close()
        assert all(not p.is_alive() for p in processes)
        return pids

    pids = asyncio.run(main())
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


def test_ctrl_c_in_the_terminal_leaves_ending_to_the_server() -> None:
    """Ctrl-C reaches every process of the terminal's group: the workers must not die
    of it first (a traceback each, and replacements started while the server shuts
    down); they end when the server closes their sockets."""

    async def main() -> None:
        pool = DecoderPool(1)
        await pool.start()
        try:
            worker = pool._workers[0].process
            await asyncio.sleep(0.5)  # past the worker's start, its handlers set
            os.kill(worker.pid, signal.SIGINT)
            os.kill(worker.pid, signal.SIGTERM)
            assert await asyncio.wait_for(pool.submit(divmod, 9, 4), 30) == (2, 1)
            assert pool._workers[0].process is worker, "the same worker, never replaced"
        finally:
            await pool.close()
        assert not worker.is_alive()

    asyncio.run(main())


def test_a_worker_starting_when_the_pool_closes_is_stopped_too() -> None:
    """A replacement still starting when the server shuts down must not outlive it."""

    async def main() -> None:
        pool = DecoderPool(1)
        await pool.start()
        started: list[object] = []
        second = asyncio.Event()
        make = pool._context.Process

        def recording(*args: object, **kwargs: object) -> object:
            process = make(*args, **kwargs)
            started.append(process)
            second.set()
            return process

        pool._context.Process = recording  # type: ignore[method-assign]
        first = pool._workers[0].process
        os.kill(first.pid, signal.SIGKILL)
        await asyncio.wait_for(second.wait(), 30)  # the replacement is being started
        await pool.close()
        for _ in range(300):
            if started and all(not p.is_alive() and p.exitcode is not None for p in started):  # type: ignore[attr-defined]
                break
            await asyncio.sleep(0.1)
        assert not pool._workers
        assert [p.is_alive() for p in started] == [False]  # type: ignore[attr-defined]

    asyncio.run(main())
