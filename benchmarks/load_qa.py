"""A cheap stand-in for the ``qa`` job, for the load-and-fault run (``benchmarks/load.py``).

Loaded by ``prtrace worker`` through ``PRTRACE_JOB_MODULES=benchmarks.load_qa``
(after the built-in modules, so it replaces the Docker QA handler). It keeps
everything of a QA job that touches shared state and drops only the Docker
run: it reads the sealed trace document (from the blob store, S3 in the
run), checks it, holds the job for ``PRTRACE_LOAD_QA_SECONDS`` (so a worker
killed mid-run is caught holding leases), and writes ``qa.tests`` plus one
judgement row in the job's fenced completion — the same
:func:`prtrace.backend.jobs.qa_job.record_result` real QA uses. One judgement row per trace
afterwards means the completion was applied exactly once.
"""

from __future__ import annotations

import asyncio
import os

from prtrace.backend.jobs.qa_job import record_result, start_qa
from prtrace.backend.jobs.queue import JobContext, JobOutcome, job_handler
from prtrace.trace import JudgeResult, TestsResult


@job_handler("qa")
async def load_qa(ctx: JobContext) -> JobOutcome:
    job = ctx.job
    trace_id, trace = await start_qa(ctx)
    await asyncio.sleep(float(os.environ.get("PRTRACE_LOAD_QA_SECONDS", "0.2")))
    tests = TestsResult(runner="load-test", ok=True, passed=len(trace.events), verdict="pass")
    judge = JudgeResult(
        status="done", model="load-test", overall=1.0, reason=f"attempt {job.attempts}"
    )
    return JobOutcome(
        result={"verdict": "pass", "events": len(trace.events), "pid": os.getpid()},
        apply=record_result(trace_id, tests, judge, job.job_id),
    )
