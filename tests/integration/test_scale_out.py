"""Several replicas on one PostgreSQL: what must not race.

Replicas start together (migrations under the advisory lock, the API token
registered once) and clients retry a finalize on another replica while the
first is still working on it (QA queued exactly once).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import func, select

from prtrace.api_types import CreateTraceRequest
from prtrace.backend.services import Services
from prtrace.backend.storage.db import api_tokens, jobs
from prtrace.trace import Developer, Task
from tests.support.storage_setups import make_settings

REPLICAS = 6


def replica_settings(tmp_path: Path, pg_url: str, i: int):
    return make_settings(
        tmp_path / f"replica-{i}",
        pg_url,
        {"PRTRACE_BLOB_URL": str(tmp_path / "blobs")},
        PRTRACE_QA_ON_FINALIZE="true",
    )


async def open_replicas(tmp_path: Path, pg_url: str) -> list[Services]:
    opened = await asyncio.gather(
        *(Services.open(replica_settings(tmp_path, pg_url, i)) for i in range(REPLICAS)),
        return_exceptions=True,
    )
    failed = [r for r in opened if isinstance(r, BaseException)]
    for services in opened:
        if isinstance(services, Services) and failed:
            await services.close()
    assert not failed, f"{len(failed)} of {REPLICAS} replicas failed to start: {failed[0]!r}"
    return opened  # type: ignore[return-value]


async def test_replicas_start_together_on_an_empty_database(tmp_path: Path, pg_url: str) -> None:
    replicas = await open_replicas(tmp_path, pg_url)
    try:
        async with replicas[0].db.read() as conn:
            tokens = (await conn.execute(select(func.count()).select_from(api_tokens))).scalar()
            version = (await conn.exec_driver_sql("SELECT version_num FROM alembic_version")).all()
        assert tokens == 1
        assert len(version) == 1
        assert all([await r.tokens.is_valid("pta_storage-test") for r in replicas])
    finally:
        for services in replicas:
            await services.close()


async def test_finalize_at_once_on_several_replicas_queues_qa_once(
    tmp_path: Path, pg_url: str
) -> None:
    replicas = await open_replicas(tmp_path, pg_url)
    try:
        request = CreateTraceRequest(
            developer=Developer(id="dev"), task=Task(repository="r", commit="abc1234")
        )
        trace_ids = []
        for _ in range(10):
            trace_id = (await replicas[0].traces.create(request)).trace_id
            trace_ids.append(trace_id)
            answers = await asyncio.gather(
                *(services.traces.finalize(trace_id, None) for services in replicas)
            )
            assert {a.status for a in answers} == {"sealed"}
            assert sum(1 for a in answers if a.qa_job_id) == 1
        async with replicas[0].db.read() as conn:
            rows = await conn.execute(
                select(jobs.c.trace_id, func.count())
                .where(jobs.c.kind == "qa")
                .group_by(jobs.c.trace_id)
            )
            per_trace = dict(rows.all())
        assert per_trace == dict.fromkeys(trace_ids, 1)
    finally:
        for services in replicas:
            await services.close()
