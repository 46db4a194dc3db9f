"""The worker loop: claim a job, run its handler, renew the lease, finish.

``prtrace serve`` runs :class:`Worker` inside its event loop (``workers``
slots); ``prtrace worker`` runs it standalone against the same database.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import traceback

from prtrace.backend import logs
from prtrace.backend.jobs.queue import HANDLERS, STARTUP_HOOKS, Job, JobContext
from prtrace.backend.services import Services
from prtrace.config import Settings
from prtrace.ids import ulid

log = logging.getLogger("prtrace.worker")

LEASE_SECONDS = 60.0
IDLE_POLL_SECONDS = 1.0


class Worker:
    def __init__(
        self,
        services: Services,
        *,
        concurrency: int = 1,
        lease_seconds: float = LEASE_SECONDS,
        poll_seconds: float = IDLE_POLL_SECONDS,
    ) -> None:
        self.services = services
        self.concurrency = concurrency
        self.lease_seconds = lease_seconds
        self.poll_seconds = poll_seconds
        self.worker_id = f"{socket.gethostname()}:{os.getpid()}:{ulid()[-8:]}"
        self.stopping = asyncio.Event()

    async def run(self) -> None:
        """Run until :meth:`stop`; each slot works one job at a time."""
        for hook in STARTUP_HOOKS:
            try:
                await hook(self.services, self.worker_id)
            except Exception:
                log.exception("worker start-up hook %s failed", getattr(hook, "__name__", hook))
        slots = [asyncio.create_task(self._slot(i)) for i in range(self.concurrency)]
        try:
            await asyncio.gather(*slots)
        finally:
            for task in slots:
                task.cancel()

    def stop(self) -> None:
        self.stopping.set()
        self.services.queue.wakeup.set()

    async def _slot(self, index: int) -> None:
        queue = self.services.queue
        slot_id = f"{self.worker_id}/{index}"
        while not self.stopping.is_set():
            try:
                job = await queue.claim(slot_id, self.lease_seconds)
            except Exception:
                log.exception("claiming a job failed; retrying")
                job = None
            if job is None:
                queue.wakeup.clear()
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(queue.wakeup.wait(), self.poll_seconds)
                continue
            await self.run_job(job, slot_id)

    async def run_job(self, job: Job, slot_id: str) -> None:
        queue = self.services.queue
        handler = HANDLERS.get(job.kind)
        if handler is None:
            await queue.fail(job, slot_id, f"no handler for job kind {job.kind!r}", retry=False)
            return
        ctx = JobContext(job=job, services=self.services, worker_id=slot_id)
        work = asyncio.create_task(handler(ctx))
        heartbeat = asyncio.create_task(self._heartbeat(job, slot_id, work, ctx))
        try:
            outcome = await work
        except asyncio.CancelledError:
            if ctx.lease_lost.is_set():
                log.warning("job %s: lease lost, abandoned", job.job_id)
                return
            raise
        except Exception as exc:  # noqa: BLE001 - any failure of a handler fails its job (retried)
            log.warning("job %s (%s) failed: %s", job.job_id, job.kind, exc)
            detail = "".join(traceback.format_exception_only(exc)).strip()
            await queue.fail(job, slot_id, detail, retry=True)
            return
        finally:
            heartbeat.cancel()
        if not await queue.complete(job, slot_id, outcome):
            log.warning("job %s finished after its lease was lost; result dropped", job.job_id)

    async def _heartbeat(self, job: Job, slot_id: str, work: asyncio.Task, ctx: JobContext) -> None:
        while True:
            await asyncio.sleep(self.lease_seconds / 3)
            try:
                held = await self.services.queue.renew(job.job_id, slot_id, self.lease_seconds)
            except Exception:
                log.exception("renewing the lease of %s failed", job.job_id)
                continue
            if not held:
                ctx.lease_lost.set()
                work.cancel()
                return


async def _run_standalone(settings: Settings, concurrency: int) -> None:
    services = await Services.open(settings, register_token=False)
    worker = Worker(services, concurrency=concurrency, lease_seconds=settings.job_lease_seconds)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, worker.stop)
    log.info("worker %s started with %d slot(s)", worker.worker_id, concurrency)
    try:
        await worker.run()
    finally:
        await services.close()


def run_standalone(settings: Settings, concurrency: int = 1) -> None:
    """``prtrace worker``: blocks until SIGINT/SIGTERM."""
    logs.configure(settings.log_level)
    asyncio.run(_run_standalone(settings, concurrency))
