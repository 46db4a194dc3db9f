"""The ``qa`` job: run :mod:`qa` on a trace and record the result in it.

The QA pipeline is synchronous (git, patch, Docker); it runs in a thread with
a cancel flag that the job sets when the worker loses its lease or stops.
The whole outputs go to the blob store; the trace's ``qa`` is written in the
job's fenced completion, so a job that another worker took over cannot
overwrite the result twice.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from pathlib import Path

import msgspec
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncConnection

from prtrace.backend.jobs.judging import judge_settings, record_judgement, run_judge
from prtrace.backend.jobs.queue import JobContext, JobOutcome, job_handler, worker_startup
from prtrace.backend.storage.db import traces
from prtrace.trace import QA, JudgeResult, TestsResult, Trace

_encode = msgspec.json.Encoder().encode
log = logging.getLogger("prtrace.qa")


def qa_settings(services, worker_id: str):  # -> prtrace.qa.pipeline.QASettings
    from prtrace.qa.pipeline import QASettings

    settings = services.settings
    return QASettings(
        cache_dir=Path(settings.home) / "qa-cache",
        docker_host=settings.docker_host,
        worker_id=worker_id,
    )


async def set_qa_status(services, trace_id: str, status: str) -> None:
    async with services.db.write() as conn:
        await conn.execute(
            update(traces)
            .where(traces.c.trace_id == trace_id)
            .values(qa_status=status, qa_updated_at=time.time())
        )


def record_result(
    trace_id: str, result: TestsResult, judge: JudgeResult | None = None, job_id: str | None = None
):
    """The fenced write of ``qa.tests`` (and the judge's ``qa.judge``) into the trace."""

    async def apply(conn: AsyncConnection) -> None:
        await conn.execute(
            update(traces)
            .where(traces.c.trace_id == trace_id)
            .values(
                qa_status="error" if result.verdict == "error" else "done",
                qa_tests=_encode(result),
                verdict=result.verdict,
                qa_updated_at=time.time(),
            )
        )
        if judge is not None:
            await record_judgement(conn, trace_id, job_id, judge)

    return apply


@worker_startup
async def sweep_qa_leftovers(services, worker_id: str) -> None:
    """Remove containers and worktrees a worker killed mid-job left behind."""
    from prtrace.qa.pipeline import sweep_leftovers

    try:
        await asyncio.to_thread(sweep_leftovers, qa_settings(services, worker_id))
    except Exception as exc:  # noqa: BLE001 - no Docker engine here: QA jobs will say so themselves
        log.warning("QA clean-up at start skipped: %s", exc)


async def start_qa(ctx: JobContext) -> tuple[str, Trace]:
    """The job's trace, marked ``running``: how every ``qa`` handler begins."""
    trace_id = ctx.job.require_trace_id()
    trace = await ctx.services.traces.load(trace_id)
    await set_qa_status(ctx.services, trace_id, "running")
    return trace_id, trace


@job_handler("qa")
async def run_qa_job(ctx: JobContext) -> JobOutcome:
    from prtrace.qa.pipeline import QACancelled, run_qa_report

    services, job = ctx.services, ctx.job
    trace_id, trace = await start_qa(ctx)
    cancel = threading.Event()
    try:
        report = await asyncio.to_thread(
            run_qa_report,
            trace,
            settings=qa_settings(services, ctx.worker_id),
            job_id=job.job_id,
            cancel=cancel,
        )
    except (asyncio.CancelledError, QACancelled):
        cancel.set()
        raise
    except Exception:
        if job.attempts >= job.max_attempts:
            await set_qa_status(services, trace_id, "error")
        raise
    for name, data in report.logs.items():
        if data:
            await services.blobs.put(f"qa/{trace_id}/{job.job_id}/{name}", data)
    result = report.result
    # The judge, after the tests and whatever they found (qa/judge; docs/judge.md).
    judged = msgspec.structs.replace(trace, qa=QA(tests=result))
    judge = await run_judge(judged, judge_settings(services))
    return JobOutcome(
        result={"verdict": result.verdict, "timings_ms": report.timings_ms, "judge": judge.status},
        apply=record_result(trace_id, result, judge, job.job_id),
    )
