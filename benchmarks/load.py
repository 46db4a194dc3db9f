"""Load and fault run: API replicas and a worker fleet on one PostgreSQL and one S3 bucket.

    .venv/bin/python benchmarks/load.py [--recorders 200] [--batches 5] [--batch-size 50]
        [--pg-url URL]     (default $PRTRACE_TEST_PG_URL; a fresh database is made and dropped)

Loopback only, bounded in count and time. It starts ``--apis`` ``prtrace serve``
processes (no embedded workers) and ``--workers`` ``prtrace worker``
processes, all on one PostgreSQL database and one bucket of a loopback S3
server (moto). ``--recorders`` simulated recorders, started over a ramp,
each create a trace, upload its batches and finalize it, through
``prtrace.client.AsyncClient``; every request goes to the next API in turn
(a round-robin balancer) and a retryable error is retried, with the same
``seq`` and body, on the next one. Finalizing queues QA; the QA job here is
the cheap stand-in of ``benchmarks/load_qa.py`` (no Docker).

Mid-run, once a share of the batches is acknowledged and the first worker
holds a QA job, the first API process and the first worker are killed with
``kill -9`` and restarted after ``--down-seconds``.

Then the database is checked (:func:`check`): every acknowledged event stored
exactly once, every QA job done exactly once (one job, one fenced
completion per trace), and clients saw only retryable errors. The test
suite runs a smaller version (``tests/integration/test_load_fault.py``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import platform
import random
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import msgspec
from sqlalchemy import func, select

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.ingest import make_event
from prtrace.backend.storage.db import Database, events, jobs, judgements, traces
from prtrace.client import APIError, AsyncClient
from prtrace.config import new_token
from prtrace.demo.server import ServerProcess, free_port, prtrace_command
from prtrace.trace import Artifacts, Developer, Task

T = TypeVar("T")
BIG_OUTPUT_BYTES = 80_000
"""One command per trace prints this much, so its output goes to the blob store (S3)."""


@dataclass
class LoadConfig:
    recorders: int = 200
    batches: int = 5
    batch_size: int = 50
    apis: int = 2
    workers: int = 3
    worker_slots: int = 2
    ramp_seconds: float = 10.0
    """Recorders start spread over this long, so finalizes (and QA) overlap uploads."""
    kill_after: float = 0.3
    """Share of all batches acknowledged before the kill."""
    down_seconds: float = 2.0
    qa_seconds: float = 0.3
    lease_seconds: float = 3.0
    deadline_seconds: float = 900.0


@dataclass
class LoadReport:
    config: LoadConfig
    acked: dict[str, Counter] = field(default_factory=dict)
    """trace id → event id → how many times a 2xx acknowledged it (once, or 2 with a retry)."""
    upload_latency: list[float] = field(default_factory=list)
    """Seconds of each successful ``POST …/events`` request."""
    retryable_errors: int = 0
    fatal_errors: list[str] = field(default_factory=list)
    duplicate_acks: int = 0
    killed: dict[str, float] = field(default_factory=dict)
    """What was killed, at which second of the run."""
    upload_seconds: float = 0.0
    qa_seconds: float = 0.0
    db: dict[str, Any] = field(default_factory=dict)
    """What the database holds after the run (filled by :func:`inspect_database`)."""

    @property
    def events(self) -> int:
        return sum(len(ids) for ids in self.acked.values())

    def percentile(self, p: float) -> float:
        values = sorted(self.upload_latency)
        return values[min(len(values) - 1, int(p / 100 * len(values)))] if values else 0.0

    def figures(self) -> dict[str, float]:
        jobs_done = self.db.get("jobs_done", 0)
        return {
            "events_per_s": self.events / self.upload_seconds if self.upload_seconds else 0.0,
            "upload_p50_ms": 1000 * self.percentile(50),
            "upload_p99_ms": 1000 * self.percentile(99),
            "qa_jobs_per_min": 60 * jobs_done / self.qa_seconds if self.qa_seconds else 0.0,
        }


class WorkerProcess:
    """A ``prtrace worker`` child process with the API's settings."""

    def __init__(self, env: dict[str, str], slots: int, log: Path) -> None:
        self.env, self.slots, self.log = env, slots, log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> WorkerProcess:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [*prtrace_command(), "worker", "--concurrency", str(self.slots)],
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return self

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def kill9(self) -> None:
        if self.process and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.kill9()


@dataclass
class Fleet:
    apis: list[ServerProcess]
    workers: list[WorkerProcess]

    @classmethod
    @contextlib.contextmanager
    def running(
        cls, config: LoadConfig, pg_url: str, s3_env: dict[str, str], workdir: Path
    ) -> Iterator[Fleet]:
        token = new_token("pta_")
        settings = {
            "PRTRACE_DATABASE_URL": pg_url,
            **s3_env,
            "PRTRACE_QA_ON_FINALIZE": "true",
            "PRTRACE_WORKERS": "0",
            "PRTRACE_JOB_MODULES": "benchmarks.load_qa",
            "PRTRACE_JOB_LEASE_SECONDS": str(config.lease_seconds),
            "PRTRACE_LOAD_QA_SECONDS": str(config.qa_seconds),
            "PRTRACE_LOG_LEVEL": "warning",
            "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        }
        apis = [
            ServerProcess(workdir / f"api-{i}", api_token=token, env=settings)
            for i in range(config.apis)
        ]
        fleet = cls(apis=apis, workers=[])
        try:
            for api in apis:
                api.start()
            env = apis[0].environment()
            for i in range(config.workers):
                home = workdir / f"worker-{i}"
                home.mkdir(parents=True, exist_ok=True)
                env_i = {**env, "PRTRACE_HOME": str(home)}
                fleet.workers.append(
                    WorkerProcess(env_i, config.worker_slots, home / "worker.log").start()
                )
            yield fleet
        finally:
            for worker in fleet.workers:
                worker.stop()
            for api in apis:
                api.stop()

    def logs(self) -> str:
        parts = [f"--- {api.url}\n{api.log_tail(15)}" for api in self.apis]
        for worker in self.workers:
            with contextlib.suppress(OSError):
                tail = worker.log.read_text(errors="replace").splitlines()[-15:]
                parts.append(f"--- worker {worker.pid}\n" + "\n".join(tail))
        return "\n".join(parts)


class Balancer:
    """Round-robin over the APIs, as a load balancer without health checks would do,
    and the client's side of a retry: a retryable error is sent again, unchanged,
    to the next API. Anything else is a failure of the run."""

    def __init__(self, clients: list[AsyncClient], report: LoadReport, deadline: float) -> None:
        self.clients, self.report, self.deadline = clients, report, deadline
        self._next = random.randrange(len(clients))

    async def call(self, send: Callable[[AsyncClient], Awaitable[T]], timed: bool = False) -> T:
        attempt = 0
        while True:
            client = self.clients[self._next % len(self.clients)]
            self._next += 1
            started = time.perf_counter()
            try:
                result = await send(client)
            except APIError as exc:
                if not exc.retryable:
                    self.report.fatal_errors.append(str(exc))
                    raise
                self.report.retryable_errors += 1
                if time.monotonic() > self.deadline:
                    raise TimeoutError(f"still failing at the deadline: {exc}") from exc
                attempt += 1
                await asyncio.sleep(min(1.0, 0.05 * 2**attempt) * random.uniform(0.5, 1.0))
                continue
            if timed:
                self.report.upload_latency.append(time.perf_counter() - started)
            return result


def batch_events(recorder: int, seq: int, size: int) -> list[dict]:
    """The events of one batch: the ingest benchmark's mix, one big output per trace."""
    batch = [make_event(seq * size + i) for i in range(size)]
    if seq == 0:
        batch[2] = batch[2] | {"stdout": f"recorder {recorder}\n" + "x" * BIG_OUTPUT_BYTES}
    return batch


async def recorder(
    index: int,
    balancer: Balancer,
    config: LoadConfig,
    report: LoadReport,
    progress: Callable[[], None],
) -> None:
    await asyncio.sleep(config.ramp_seconds * index / max(1, config.recorders))
    created = await balancer.call(
        lambda c: c.create_trace(
            developer=Developer(id=f"load-{index}"),
            task=Task(repository="https://example.invalid/load.git", commit="abcdef0"),
        )
    )
    trace_id, upload = created.trace_id, created.upload_token
    acked = report.acked.setdefault(trace_id, Counter())
    for seq in range(config.batches):
        batch = batch_events(index, seq, config.batch_size)
        # The lambda is awaited in this iteration, so it sees this seq and batch.
        answer = await balancer.call(
            lambda c: c.upload_events(trace_id, seq, batch, token=upload),  # noqa: B023
            timed=True,
        )
        report.duplicate_acks += answer.duplicate
        acked.update(e["id"] for e in batch)
        progress()
    artifacts = Artifacts(final_patch=f"--- a/f\n+++ b/f\n@@ -1 +1 @@\n-{index}\n+{index + 1}\n")
    await balancer.call(lambda c: c.finalize(trace_id, artifacts, token=upload))


async def chaos(
    fleet: Fleet,
    db: Database,
    config: LoadConfig,
    report: LoadReport,
    acked_batches: Callable[[], int],
    started: float,
    deadline: float,
) -> None:
    """Kill the first API once uploads are under way, and the first worker once it
    holds a QA job; restart each ``down_seconds`` after its kill.

    The two kills are apart: waiting for the worker to hold a job before killing
    the API let a slow machine finish every upload first, so the API's death hit
    no traffic (the run then showed no retried request, and the test failed)."""
    total = config.recorders * config.batches
    while acked_batches() < config.kill_after * total:  # noqa: ASYNC110 - polls a counter
        await asyncio.sleep(0.05)
    fleet.apis[0].kill9()
    report.killed[f"api {fleet.apis[0].url}"] = time.monotonic() - started
    api_back = asyncio.create_task(_restart_api_later(fleet, config.down_seconds))
    victim = fleet.workers[0]
    owner = f"%:{victim.pid}:%"
    while True:
        # A job claimed just now (not one about to finish): the kill surely cuts it off.
        fresh = time.time() - config.qa_seconds / 4
        async with db.read() as conn:
            held = (
                await conn.execute(
                    select(func.count())
                    .select_from(jobs)
                    .where(
                        jobs.c.status == "running",
                        jobs.c.lease_owner.like(owner),
                        jobs.c.updated_at > fresh,
                    )
                )
            ).scalar()
        if held or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.05)
    victim.kill9()
    report.killed[f"worker pid {victim.pid} holding {held} job(s)"] = time.monotonic() - started
    await asyncio.sleep(config.down_seconds)
    victim.start()
    await api_back


async def _restart_api_later(fleet: Fleet, delay: float) -> None:
    await asyncio.sleep(delay)
    await asyncio.to_thread(fleet.apis[0].restart)


async def wait_for_qa(db: Database, trace_ids: list[str], deadline: float) -> None:
    while True:
        async with db.read() as conn:
            finished = (
                await conn.execute(
                    select(func.count())
                    .select_from(jobs)
                    .where(
                        jobs.c.kind == "qa",
                        jobs.c.trace_id.in_(trace_ids),
                        jobs.c.status.in_(["done", "error"]),
                    )
                )
            ).scalar()
        if finished >= len(trace_ids) or time.monotonic() > deadline:
            return
        await asyncio.sleep(0.25)


async def inspect_database(db: Database, report: LoadReport) -> None:
    ids = list(report.acked)
    async with db.read() as conn:
        stored: dict[str, Counter] = {t: Counter() for t in ids}
        rows = await conn.execute(
            select(events.c.trace_id, events.c.event_id).where(events.c.trace_id.in_(ids))
        )
        for trace_id, event_id in rows:
            stored[trace_id][event_id] += 1
        job_rows = (
            await conn.execute(
                select(
                    jobs.c.trace_id,
                    jobs.c.status,
                    jobs.c.attempts,
                    jobs.c.created_at,
                    jobs.c.updated_at,
                ).where(jobs.c.kind == "qa", jobs.c.trace_id.in_(ids))
            )
        ).all()
        judged = dict(
            (
                await conn.execute(
                    select(judgements.c.trace_id, func.count())
                    .where(judgements.c.trace_id.in_(ids))
                    .group_by(judgements.c.trace_id)
                )
            ).all()
        )
        trace_rows = {
            r.trace_id: r
            for r in await conn.execute(
                select(
                    traces.c.trace_id,
                    traces.c.status,
                    traces.c.event_count,
                    traces.c.qa_status,
                    traces.c.document_key,
                ).where(traces.c.trace_id.in_(ids))
            )
        }
    report.db = {
        "stored": stored,
        "jobs": Counter(r.trace_id for r in job_rows),
        "job_status": Counter(r.status for r in job_rows),
        "jobs_done": sum(r.status == "done" for r in job_rows),
        "retaken_jobs": sum(r.attempts > 1 for r in job_rows),
        "judgements": judged,
        "traces": trace_rows,
    }
    if job_rows:
        report.qa_seconds = max(r.updated_at for r in job_rows) - min(
            r.created_at for r in job_rows
        )


def check(report: LoadReport) -> list[str]:
    """Every invariant the run must keep; an empty list when all hold."""
    problems: list[str] = []
    db, config = report.db, report.config
    if len(report.acked) != config.recorders:
        problems.append(f"{len(report.acked)} of {config.recorders} recorders got a trace")
    for trace_id, acked in report.acked.items():
        stored = db["stored"].get(trace_id, Counter())
        if set(stored) != set(acked) or any(n != 1 for n in stored.values()):
            lost = len(set(acked) - set(stored))
            doubled = sum(1 for n in stored.values() if n != 1)
            problems.append(
                f"{trace_id}: {lost} acknowledged events missing, {doubled} stored twice"
            )
        row = db["traces"].get(trace_id)
        if row is None or row.status != "sealed" or row.event_count != len(acked):
            problems.append(f"{trace_id}: trace row {row}")
        elif row.document_key is None:
            problems.append(f"{trace_id}: sealed document not archived")
        if db["jobs"].get(trace_id) != 1:
            problems.append(f"{trace_id}: {db['jobs'].get(trace_id, 0)} QA jobs, want 1")
        if db["judgements"].get(trace_id) != 1:
            problems.append(
                f"{trace_id}: QA completion applied {db['judgements'].get(trace_id, 0)} times"
            )
        if row is not None and row.qa_status != "done":
            problems.append(f"{trace_id}: qa_status {row.qa_status}")
    if db.get("job_status", {}).keys() - {"done"}:
        problems.append(f"QA jobs not all done: {dict(db['job_status'])}")
    if report.fatal_errors:
        problems.append(
            f"{len(report.fatal_errors)} non-retryable errors, e.g. {report.fatal_errors[0]}"
        )
    if len(report.killed) != 2:
        problems.append(f"the fault was not injected: killed {report.killed}")
    return problems


async def run_load(
    config: LoadConfig, pg_url: str, s3_env: dict[str, str], workdir: Path
) -> LoadReport:
    """Start the fleet, run the recorders with the fault, wait for QA, read the database."""
    report = LoadReport(config=config)
    started = time.monotonic()
    deadline = started + config.deadline_seconds
    db = Database(pg_url)
    acked = 0

    def progress() -> None:
        nonlocal acked
        acked += 1

    try:
        with Fleet.running(config, pg_url, s3_env, workdir) as fleet:
            clients = [AsyncClient(api.url, api.api_token, timeout=30) for api in fleet.apis]
            try:
                balancer_for = lambda: Balancer(clients, report, deadline)  # noqa: E731
                start = time.monotonic()
                chaos_task = asyncio.create_task(
                    chaos(fleet, db, config, report, lambda: acked, start, deadline)
                )
                outcomes = await asyncio.wait_for(
                    asyncio.gather(
                        *(
                            recorder(i, balancer_for(), config, report, progress)
                            for i in range(config.recorders)
                        ),
                        return_exceptions=True,
                    ),
                    max(1.0, deadline - time.monotonic()),
                )
                report.upload_seconds = time.monotonic() - start
                report.fatal_errors += [
                    repr(o)
                    for o in outcomes
                    if isinstance(o, BaseException) and not isinstance(o, APIError)
                ]
                await asyncio.wait_for(chaos_task, max(1.0, deadline - time.monotonic()))
                await wait_for_qa(db, list(report.acked), deadline)
                await inspect_database(db, report)
                if check(report):
                    report.db["logs"] = fleet.logs()
            finally:
                for client in clients:
                    await client.aclose()
    finally:
        await db.dispose()
    return report


def describe(report: LoadReport) -> str:
    c, f = report.config, report.figures()
    return "\n".join(
        [
            f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
            f"{c.apis} APIs, {c.workers} workers x {c.worker_slots} slots, PostgreSQL + S3 (moto) on loopback",
            f"{c.recorders} recorders x {c.batches} batches x {c.batch_size} events = {report.events:,} events",
            f"killed (kill -9, back after {c.down_seconds:.0f} s): "
            + ", ".join(f"{what} at {at:.1f} s" for what, at in report.killed.items()),
            (
                f"ingest: {f['events_per_s']:,.0f} events/s over {report.upload_seconds:.1f} s; "
                f"upload p50 {f['upload_p50_ms']:.0f} ms, p99 {f['upload_p99_ms']:.0f} ms"
            ),
            (
                f"QA: {report.db.get('jobs_done', 0)} jobs done in {report.qa_seconds:.1f} s = "
                f"{f['qa_jobs_per_min']:,.0f} jobs/min ({c.qa_seconds} s stand-in job); "
                f"{report.db.get('retaken_jobs', 0)} retaken after the worker died"
            ),
            (
                f"client errors: {report.retryable_errors} retryable (retried), "
                f"{len(report.fatal_errors)} other; {report.duplicate_acks} retried batches were "
                f"already stored (acknowledged as duplicates)"
            ),
        ]
    )


# --- running it on its own -------------------------------------------------------------


async def _admin(url: str, statement: str) -> None:
    import asyncpg

    dsn = "postgresql://" + url.split("://", 1)[1]
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


@contextlib.contextmanager
def fresh_database(server_url: str) -> Iterator[str]:
    from sqlalchemy.engine import make_url

    name = f"prtrace_load_{uuid.uuid4().hex[:12]}"
    asyncio.run(_admin(server_url, f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        asyncio.run(_admin(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@contextlib.contextmanager
def moto_bucket(workdir: Path) -> Iterator[dict[str, str]]:
    """A moto S3 server in its own process (so it does not share the recorders' CPU time)."""
    import httpx
    from minio import Minio

    port = free_port()
    with (workdir / "moto.log").open("ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        for _ in range(100):
            with contextlib.suppress(httpx.TransportError):
                httpx.get(f"http://127.0.0.1:{port}/", timeout=1)
                break
            time.sleep(0.1)
        Minio(f"127.0.0.1:{port}", "load", "load-secret", secure=False).make_bucket("prtrace-load")
        yield {
            "PRTRACE_BLOB_URL": "s3://prtrace-load",
            "PRTRACE_S3_ENDPOINT": f"127.0.0.1:{port}",
            "PRTRACE_S3_ACCESS_KEY": "load",
            "PRTRACE_S3_SECRET_KEY": "load-secret",
            "PRTRACE_S3_SECURE": "false",
        }
    finally:
        proc.terminate()
        proc.wait(10)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    defaults = LoadConfig()
    for name, value in vars(defaults).items():
        parser.add_argument("--" + name.replace("_", "-"), type=type(value), default=value)
    parser.add_argument("--pg-url", default=os.environ.get("PRTRACE_TEST_PG_URL"))
    args = vars(parser.parse_args())
    pg_server = args.pop("pg_url")
    if not pg_server:
        raise SystemExit("give --pg-url or set PRTRACE_TEST_PG_URL (./dev test sets up a server)")
    config = LoadConfig(**args)
    with (
        tempfile.TemporaryDirectory() as tmp,
        fresh_database(pg_server) as pg_url,
        moto_bucket(Path(tmp)) as s3_env,
    ):
        report = asyncio.run(run_load(config, pg_url, s3_env, Path(tmp)))
    print(describe(report))
    problems = check(report)
    for problem in problems[:20]:
        print("FAIL:", problem)
    if problems:
        print(report.db.get("logs", ""), file=sys.stderr)
    print(msgspec.json.encode(report.figures()).decode())
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
