"""The load-and-fault run of ``benchmarks/load.py``, smaller: 2 ``prtrace serve`` and
3 ``prtrace worker`` processes on a real PostgreSQL and a loopback S3 bucket (moto),
recorders uploading through both APIs, one API and one worker killed with
``kill -9`` mid-run and restarted.

QA here is the cheap stand-in job of ``benchmarks/load_qa.py`` (no Docker):
what is under test is the queue, the leases and the fenced completion across
processes, not the test runner (tests/e2e/test_qa_worker_crash.py kills a worker
in the middle of a Docker QA run).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.load import LoadConfig, check, describe, run_load
from tests.support.services import S3Bucket

pytestmark = [pytest.mark.postgres, pytest.mark.s3, pytest.mark.slow]

CONFIG = LoadConfig(
    recorders=24,
    batches=6,
    batch_size=40,
    ramp_seconds=3.0,
    kill_after=0.3,
    down_seconds=1.0,
    qa_seconds=0.5,
    lease_seconds=2.0,
    deadline_seconds=240.0,
)


async def test_replicas_killed_mid_load_lose_nothing_and_qa_each_trace_once(
    tmp_path: Path, pg_url: str, s3_bucket: S3Bucket
) -> None:
    report = await run_load(CONFIG, pg_url, s3_bucket.env(), tmp_path)
    print(describe(report))
    problems = check(report)
    assert not problems, "\n".join(problems[:20]) + "\n" + report.db.get("logs", "")
    # The fault hit traffic: clients had to retry, and the dead worker's jobs were retaken.
    assert report.retryable_errors > 0
    assert report.db["retaken_jobs"] > 0
    assert report.events == CONFIG.recorders * CONFIG.batches * CONFIG.batch_size
