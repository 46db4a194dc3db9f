"""Test-only job types, loaded by workers through PRTRACE_JOB_MODULES.

``test.echo`` returns its payload. ``test.slow`` records each attempt in a
file, then waits until a ``release`` file appears — so a test can kill the
worker mid-job and watch another worker finish it.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from prtrace.backend.jobs.queue import JobContext, JobOutcome, job_handler


@job_handler("test.echo")
async def echo(ctx: JobContext) -> JobOutcome:
    return JobOutcome(result={"echo": ctx.job.payload, "attempt": ctx.job.attempts})


@job_handler("test.fail")
async def fail(ctx: JobContext) -> JobOutcome:
    raise RuntimeError(f"test.fail attempt {ctx.job.attempts}")


@job_handler("test.slow")
async def slow(ctx: JobContext) -> JobOutcome:
    folder = Path(ctx.job.payload["folder"])
    with (folder / "attempts").open("a") as fh:
        fh.write(f"{os.getpid()} {ctx.job.attempts}\n")
    while not (folder / "release").exists():
        await asyncio.sleep(0.05)
    with (folder / "completions").open("a") as fh:
        fh.write(f"{os.getpid()}\n")
    return JobOutcome(result={"pid": os.getpid(), "attempt": ctx.job.attempts})
