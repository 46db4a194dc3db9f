"""The database job queue: leases, retries, fencing, exactly-once completion."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import msgspec
import pytest

import tests.support.job_plugins  # noqa: F401 (registers the test.* job kinds)
from prtrace.backend.jobs.queue import JobOutcome
from prtrace.backend.jobs.worker import Worker
from prtrace.backend.services import Services
from tests.support.storage_setups import make_settings


@pytest.fixture
async def services(tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    settings = make_settings(
        tmp_path / "home", database_url, {"PRTRACE_BLOB_URL": str(tmp_path / "b")}
    )
    svc = await Services.open(settings)
    yield svc
    await svc.close()


async def wait_for_status(
    svc: Services, job_id: str, wanted: set[str], timeout: float = 30
) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        row = await svc.queue.get(job_id)
        if row.status in wanted:
            return row
        await asyncio.sleep(0.05)
    raise AssertionError(f"job {job_id} still {row.status}")


async def test_embedded_worker_runs_a_job(services: Services) -> None:
    worker = Worker(services, concurrency=1, poll_seconds=0.1)
    task = asyncio.create_task(worker.run())
    job_id = await services.queue.enqueue("test.echo", payload={"n": 41})
    row = await wait_for_status(services, job_id, {"done", "error"})
    worker.stop()
    await task
    assert row.status == "done" and row.attempts == 1
    assert msgspec.json.decode(row.result) == {"echo": {"n": 41}, "attempt": 1}


async def test_failures_retry_then_stop_at_max_attempts(services: Services, monkeypatch) -> None:
    monkeypatch.setattr("prtrace.backend.jobs.queue.RETRY_BACKOFF_SECONDS", 0.0)
    worker = Worker(services, concurrency=1, poll_seconds=0.05)
    task = asyncio.create_task(worker.run())
    job_id = await services.queue.enqueue("test.fail", max_attempts=3)
    row = await wait_for_status(services, job_id, {"error"})
    worker.stop()
    await task
    assert row.attempts == 3 and "test.fail attempt 3" in row.error


async def test_unknown_kind_is_an_error_not_a_retry(services: Services) -> None:
    worker = Worker(services, concurrency=1, poll_seconds=0.05)
    task = asyncio.create_task(worker.run())
    job_id = await services.queue.enqueue("no.such.kind")
    row = await wait_for_status(services, job_id, {"error"})
    worker.stop()
    await task
    assert row.attempts == 1 and "no handler for job kind 'no.such.kind'" in row.error


async def test_expired_lease_is_taken_over_and_the_old_owner_is_fenced(services: Services) -> None:
    queue = services.queue
    job_id = await queue.enqueue("test.echo", payload={})
    first = await queue.claim("worker-a", lease_seconds=0.2)
    assert first.job_id == job_id and await queue.claim("worker-b", 0.2) is None
    await asyncio.sleep(0.3)
    second = await queue.claim("worker-b", lease_seconds=30)
    assert second.job_id == job_id and second.attempts == 2
    assert not await queue.renew(job_id, "worker-a", 30)
    assert not await queue.complete(first, "worker-a", JobOutcome(result={"by": "a"}))
    assert await queue.complete(second, "worker-b", JobOutcome(result={"by": "b"}))
    row = await queue.get(job_id)
    assert row.status == "done" and msgspec.json.decode(row.result) == {"by": "b"}


async def test_lease_lost_more_than_max_attempts_gives_up(services: Services) -> None:
    queue = services.queue
    job_id = await queue.enqueue("test.echo", max_attempts=2)
    for _ in range(2):
        assert (await queue.claim("dying-worker", lease_seconds=0.05)).job_id == job_id
        await asyncio.sleep(0.1)
    assert await queue.claim("next-worker", 30) is None
    row = await queue.get(job_id)
    assert row.status == "error" and "gave up after 2 attempts" in row.error


async def test_many_workers_run_every_job_exactly_once(services: Services, monkeypatch) -> None:
    ran: list[str] = []

    async def record(ctx):
        ran.append(ctx.job.job_id)
        await asyncio.sleep(0.01)
        return JobOutcome(result={"ok": True})

    monkeypatch.setitem(
        __import__("prtrace.backend.jobs.queue").backend.jobs.queue.HANDLERS, "test.record", record
    )
    job_ids = [await services.queue.enqueue("test.record") for _ in range(30)]
    workers = [Worker(services, concurrency=2, poll_seconds=0.05) for _ in range(3)]
    tasks = [asyncio.create_task(w.run()) for w in workers]
    for job_id in job_ids:
        await wait_for_status(services, job_id, {"done"})
    for w in workers:
        w.stop()
    await asyncio.gather(*tasks)
    assert sorted(ran) == sorted(job_ids)


def _start_worker(tmp_path: Path, database_url: str) -> subprocess.Popen:
    env = dict(os.environ)
    env.update(
        PRTRACE_HOME=str(tmp_path / "home"),
        PRTRACE_DATABASE_URL=database_url,
        PRTRACE_BLOB_URL=str(tmp_path / "b"),
        PRTRACE_API_TOKEN="pta_storage-test",
        PRTRACE_JOB_MODULES="tests.support.job_plugins",
        PRTRACE_JOB_LEASE_SECONDS="1.5",
        XDG_CONFIG_HOME=str(tmp_path / "config"),
        PYTHONPATH=str(Path(__file__).resolve().parents[2]),
    )
    return subprocess.Popen(
        [sys.executable, "-m", "prtrace.cli.main", "worker", "--concurrency", "1"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=open(tmp_path / f"worker-{time.monotonic_ns()}.log", "wb"),
    )


async def test_worker_killed_mid_job_is_finished_once_by_the_next(
    services: Services, tmp_path: Path, database_url: str
) -> None:
    folder = tmp_path / "job"
    folder.mkdir()
    job_id = await services.queue.enqueue("test.slow", payload={"folder": str(folder)})
    first = _start_worker(tmp_path, database_url)
    try:
        deadline = time.monotonic() + 60
        while not (folder / "attempts").exists():
            assert time.monotonic() < deadline and first.poll() is None, (
                "worker never started the job"
            )
            await asyncio.sleep(0.05)
        first.send_signal(signal.SIGKILL)
        first.wait()
        (folder / "release").touch()
        second = _start_worker(tmp_path, database_url)
        try:
            row = await wait_for_status(services, job_id, {"done", "error"}, timeout=60)
        finally:
            second.terminate()
            second.wait(timeout=30)
    finally:
        if first.poll() is None:
            first.kill()
    attempts = (folder / "attempts").read_text().split("\n")[:-1]
    assert row.status == "done" and row.attempts == 2
    assert [line.split()[1] for line in attempts] == ["1", "2"]
    assert len((folder / "completions").read_text().splitlines()) == 1
    assert msgspec.json.decode(row.result)["pid"] == second.pid
