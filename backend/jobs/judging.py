"""The LLM judge in the backend: run it, keep every judgement, and the ``judge`` job.

The judge itself (:mod:`prtrace.qa.judge`) is synchronous and never raises for a
model's failures; here it runs in a thread. Its result is written in the
job's fenced completion: a row in ``judgements`` (the history, for
``GET /traces/{id}/judgements``) and the trace's ``qa_judge`` and ``overall``
(the latest, shown as ``qa.judge``). A ``skipped`` result (no model
configured) is shown in ``qa.judge`` but is no judgement, so it is not added
to the history.

The ``qa`` job judges after its tests (see :mod:`prtrace.backend.jobs.qa_job`);
``POST /traces/{id}/judge`` queues a ``judge`` job that judges the trace as
it is, with the current test results, optionally with another model, rubric
or number of samples.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC
from typing import Any

import msgspec
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from prtrace.api_types import Judgement, JudgementList, JudgeRequest
from prtrace.backend.errors import ApiError, not_found
from prtrace.backend.jobs.queue import JobContext, JobOutcome, enqueue, job_handler
from prtrace.backend.storage.db import judgements, traces
from prtrace.ids import ulid
from prtrace.trace import JudgeResult, Trace

_encode = msgspec.json.Encoder().encode
log = logging.getLogger("prtrace.judge")


def judge_settings(
    services: Any, request: JudgeRequest | None = None
):  # -> prtrace.qa.judge.JudgeSettings
    from prtrace.qa.judge import JudgeSettings

    request = request or JudgeRequest()
    return JudgeSettings.from_settings(
        services.settings, model=request.model, rubric=request.rubric, samples=request.samples
    )


def check_rubric(services: Any, name: str | None) -> None:
    """422 naming ``rubric`` when the request asks for one this server does not have."""
    from prtrace.qa.judge import RubricError, load_rubric

    if name is None:
        return
    settings = services.settings
    try:
        load_rubric(name, [settings.judge_rubric_dir] if settings.judge_rubric_dir else [])
    except RubricError as exc:
        raise ApiError(422, str(exc), "rubric") from None


async def run_judge(trace: Trace, settings: Any) -> JudgeResult:
    """Judge in a thread; an unexpected failure becomes an ``error`` result, never a lost job."""
    from prtrace.qa.judge import judge_trace

    try:
        return await asyncio.to_thread(judge_trace, trace, settings)
    except Exception as exc:  # a bug in the judge must not fail the tests' result with it
        log.exception("judge failed on %s", trace.trace_id)
        return JudgeResult(status="error", model=settings.model, reason=f"judge failed: {exc}")


async def record_judgement(
    conn: AsyncConnection, trace_id: str, job_id: str | None, result: JudgeResult
) -> None:
    """Write ``result`` as the trace's latest judgement (and into the history unless skipped)."""
    now = time.time()
    body = _encode(result)
    if result.status != "skipped":
        await conn.execute(
            judgements.insert().values(
                judgement_id="jdg_" + ulid().lower(),
                trace_id=trace_id,
                job_id=job_id,
                created_at=now,
                status=result.status,
                model=result.model,
                rubric_id=result.rubric_id,
                rubric_version=result.rubric_version,
                overall=result.overall,
                result=body,
            )
        )
    await conn.execute(
        update(traces)
        .where(traces.c.trace_id == trace_id)
        .values(qa_judge=body, overall=result.overall, qa_updated_at=now)
    )


async def queue_judge(services: Any, trace_id: str, request: JudgeRequest | None) -> str:
    check_rubric(services, request.rubric if request else None)
    payload = msgspec.to_builtins(request) if request else {}
    async with services.db.write() as conn:
        found = (
            await conn.execute(select(traces.c.trace_id).where(traces.c.trace_id == trace_id))
        ).first()
        if found is None:
            raise not_found(f"trace {trace_id}")
        job_id = await enqueue(conn, "judge", trace_id=trace_id, payload=payload)
    services.queue.wakeup.set()
    return job_id


async def list_judgements(services: Any, trace_id: str) -> JudgementList:
    async with services.db.read() as conn:
        found = (
            await conn.execute(select(traces.c.trace_id).where(traces.c.trace_id == trace_id))
        ).first()
        if found is None:
            raise not_found(f"trace {trace_id}")
        rows = (
            await conn.execute(
                select(judgements)
                .where(judgements.c.trace_id == trace_id)
                .order_by(judgements.c.created_at.desc(), judgements.c.judgement_id.desc())
            )
        ).all()
    return JudgementList(
        judgements=[
            Judgement(
                judgement_id=row.judgement_id,
                trace_id=row.trace_id,
                job_id=row.job_id,
                created_at=_utc(row.created_at),
                result=msgspec.json.decode(row.result, type=JudgeResult),
            )
            for row in rows
        ]
    )


def _utc(ts: float):  # -> datetime
    from datetime import datetime

    return datetime.fromtimestamp(ts, tz=UTC)


@job_handler("judge")
async def run_judge_job(ctx: JobContext) -> JobOutcome:
    services, job = ctx.services, ctx.job
    trace_id, job_id = job.require_trace_id(), job.job_id
    request = msgspec.convert(job.payload or {}, JudgeRequest)
    trace = await services.traces.load(trace_id)
    result = await run_judge(trace, judge_settings(services, request))

    async def apply(conn: AsyncConnection) -> None:
        await record_judgement(conn, trace_id, job_id, result)

    return JobOutcome(
        result={"status": result.status, "overall": result.overall, "reason": result.reason},
        apply=apply,
    )
