"""A durable job queue in the database, with leases.

A job is a row. A worker *claims* the oldest runnable one — queued and due, or
running with an expired lease (its worker died) — by writing its id and a lease
expiry into the row, and renews the lease while it works. Completion is
fenced: it only counts if the worker still holds the lease, so a job that was
taken over by another worker finishes exactly once.

PostgreSQL: ``SELECT … FOR UPDATE SKIP LOCKED`` lets many workers claim at once.
SQLite: the claim runs in one ``BEGIN IMMEDIATE`` transaction (single writer).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

import msgspec
from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from prtrace.backend.storage.db import Database, jobs
from prtrace.ids import ulid

_encode = msgspec.json.Encoder().encode

DEFAULT_MAX_ATTEMPTS = 3
RETRY_BACKOFF_SECONDS = 2.0


@dataclass
class Job:
    job_id: str
    kind: str
    trace_id: str | None
    payload: dict[str, Any]
    attempts: int
    max_attempts: int

    def require_trace_id(self) -> str:
        """The trace the job is about; a job of a per-trace kind without one is a bug."""
        if self.trace_id is None:
            raise ValueError(f"a {self.kind} job needs a trace_id")
        return self.trace_id


@dataclass
class JobOutcome:
    """What a handler returns: a result to store, and writes to make atomically
    with the completion (only if this worker still holds the lease)."""

    result: dict[str, Any] | None = None
    apply: Callable[[AsyncConnection], Awaitable[None]] | None = None


@dataclass
class JobContext:
    job: Job
    services: Any
    """The :class:`prtrace.backend.services.Services` of the process running the job."""
    worker_id: str = ""
    lease_lost: asyncio.Event = field(default_factory=asyncio.Event)


Handler = Callable[[JobContext], Coroutine[Any, Any, JobOutcome | None]]
HANDLERS: dict[str, Handler] = {}
StartupHook = Callable[[Any, str], Awaitable[None]]
STARTUP_HOOKS: list[StartupHook] = []


def worker_startup(fn: StartupHook) -> StartupHook:
    """Register ``fn(services, worker_id)`` to run when a worker starts
    (e.g. to clean up what a crashed worker left behind)."""
    STARTUP_HOOKS.append(fn)
    return fn


def job_handler(kind: str) -> Callable[[Handler], Handler]:
    """Register the coroutine that runs jobs of ``kind``."""

    def register(fn: Handler) -> Handler:
        HANDLERS[kind] = fn
        return fn

    return register


async def enqueue(
    conn: AsyncConnection,
    kind: str,
    *,
    trace_id: str | None = None,
    payload: dict[str, Any] | None = None,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
) -> str:
    """Add a job inside the caller's transaction (atomic with what caused it)."""
    now = time.time()
    job_id = "job_" + ulid().lower()
    await conn.execute(
        jobs.insert().values(
            job_id=job_id,
            kind=kind,
            trace_id=trace_id,
            payload=_encode(payload or {}),
            status="queued",
            attempts=0,
            max_attempts=max_attempts,
            run_after=now,
            created_at=now,
            updated_at=now,
        )
    )
    return job_id


class JobQueue:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.wakeup = asyncio.Event()
        """Set when this process enqueues, so embedded workers start at once."""

    async def enqueue(self, kind: str, **kwargs: Any) -> str:
        async with self.db.write() as conn:
            job_id = await enqueue(conn, kind, **kwargs)
        self.wakeup.set()
        return job_id

    async def claim(self, worker_id: str, lease_seconds: float) -> Job | None:
        now = time.time()
        runnable = or_(
            (jobs.c.status == "queued") & (jobs.c.run_after <= now),
            (jobs.c.status == "running") & (jobs.c.lease_expires_at < now),
        )
        async with self.db.write() as conn:
            while True:
                row = (
                    await conn.execute(
                        select(jobs)
                        .where(runnable)
                        .order_by(jobs.c.run_after, jobs.c.job_id)
                        .limit(1)
                        .with_for_update(skip_locked=True)
                    )
                ).first()
                if row is None:
                    return None
                if row.attempts >= row.max_attempts:
                    await self._give_up(conn, row.job_id, row.attempts, now)
                    continue
                await conn.execute(
                    update(jobs)
                    .where(jobs.c.job_id == row.job_id)
                    .values(
                        status="running",
                        attempts=row.attempts + 1,
                        lease_owner=worker_id,
                        lease_expires_at=now + lease_seconds,
                        updated_at=now,
                    )
                )
                return Job(
                    job_id=row.job_id,
                    kind=row.kind,
                    trace_id=row.trace_id,
                    payload=msgspec.json.decode(row.payload or b"{}"),
                    attempts=row.attempts + 1,
                    max_attempts=row.max_attempts,
                )

    @staticmethod
    async def _give_up(conn: AsyncConnection, job_id: str, attempts: int, now: float) -> None:
        await conn.execute(
            update(jobs)
            .where(jobs.c.job_id == job_id)
            .values(
                status="error",
                lease_owner=None,
                updated_at=now,
                error=f"gave up after {attempts} attempts (the last worker lost its lease)",
            )
        )

    def _owned(self, job_id: str, worker_id: str) -> Any:
        return (
            (jobs.c.job_id == job_id)
            & (jobs.c.lease_owner == worker_id)
            & (jobs.c.status == "running")
        )

    async def renew(self, job_id: str, worker_id: str, lease_seconds: float) -> bool:
        now = time.time()
        async with self.db.write() as conn:
            result = await conn.execute(
                update(jobs)
                .where(self._owned(job_id, worker_id))
                .values(lease_expires_at=now + lease_seconds, updated_at=now)
            )
        return result.rowcount == 1

    async def complete(self, job: Job, worker_id: str, outcome: JobOutcome | None) -> bool:
        """Mark done and apply the outcome's writes, only while holding the lease."""
        async with self.db.write() as conn:
            result = await conn.execute(
                update(jobs)
                .where(self._owned(job.job_id, worker_id))
                .values(
                    status="done",
                    lease_owner=None,
                    updated_at=time.time(),
                    result=_encode(outcome.result) if outcome and outcome.result else None,
                    error=None,
                )
            )
            if result.rowcount != 1:
                return False
            if outcome and outcome.apply:
                await outcome.apply(conn)
        return True

    async def fail(self, job: Job, worker_id: str, error: str, *, retry: bool) -> bool:
        now = time.time()
        again = retry and job.attempts < job.max_attempts
        values: dict[str, Any] = {"lease_owner": None, "updated_at": now, "error": error[:4000]}
        if again:
            values.update(status="queued", run_after=now + RETRY_BACKOFF_SECONDS * job.attempts)
        else:
            values.update(status="error")
        async with self.db.write() as conn:
            result = await conn.execute(
                update(jobs).where(self._owned(job.job_id, worker_id)).values(**values)
            )
        return result.rowcount == 1

    async def get(self, job_id: str) -> Any:
        async with self.db.read() as conn:
            return (await conn.execute(select(jobs).where(jobs.c.job_id == job_id))).first()
