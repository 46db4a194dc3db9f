"""A dataset of many traces for the export tests, made in-process (fast).

Going through :class:`prtrace.backend.storage.traces.TraceStore` — the code the routes call —
rather than HTTP keeps 10,000 traces within seconds while storing exactly
what ingestion stores (validated events, batches, sealed documents).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

from prtrace import events as ev
from prtrace.api_types import CreateTraceRequest, EventBatch, FinalizeRequest
from prtrace.backend.services import Services
from prtrace.config import Settings, load_settings
from prtrace.hashing import text_hash
from prtrace.patches import make_patch
from prtrace.trace import Artifacts, Developer, Task

START = datetime(2024, 5, 1, 8, 0, tzinfo=UTC)
OUTPUT = "".join(f"tests/test_mod.py::test_case_{i} PASSED\n" for i in range(80))
"""About 3.5 KB of command output per trace: big enough that holding every
exported document would show in memory, small enough to stay under the blob
threshold."""


def settings_for(home: Path, api_token: str) -> Settings:
    return load_settings(
        {"home": str(home), "api_token": api_token, "qa_on_finalize": False, "workers": 0},
        environ={},
    )


def trace_events(i: int) -> list[ev.Event]:
    before = f"def f():\n    return {i}\n"
    after = f"def f():\n    return {i + 1}\n"
    t = START + timedelta(seconds=i)
    return [
        ev.FileOpened(id="e1", t=t, session_id="s", path="m.py", hash=text_hash(before)),
        ev.Edit(
            id="e2",
            t=t + timedelta(seconds=1),
            session_id="s",
            path="m.py",
            op="replace",
            patch_unified=make_patch(before, after, "m.py"),
            before_hash=text_hash(before),
            after_hash=text_hash(after),
        ),
        ev.TerminalCommand(
            id="e3",
            t=t + timedelta(seconds=2),
            session_id="s",
            cmd="pytest -q",
            exit_code=i % 2,
            stdout=OUTPUT + f"run {i}\n",
        ),
        ev.Thought(id="e4", t=t + timedelta(seconds=3), session_id="s", raw=f"trace number {i}"),
    ]


async def _make(settings: Settings, count: int, repository: str) -> list[str]:
    services = await Services.open(settings)
    made: list[str] = []
    try:
        for i in range(count):
            created = await services.traces.create(
                CreateTraceRequest(
                    developer=Developer(id=f"dev{i % 7}"),
                    task=Task(repository=repository, commit="abc1234"),
                )
            )
            await services.traces.append_batch(
                created.trace_id, EventBatch(seq=0, events=trace_events(i))
            )
            patch = make_patch(
                f"def f():\n    return {i}\n", f"def f():\n    return {i + 1}\n", "m.py"
            )
            await services.traces.finalize(
                created.trace_id, FinalizeRequest(artifacts=Artifacts(final_patch=patch))
            )
            made.append(created.trace_id)
    finally:
        await services.close()
    return made


def make_dataset(home: Path, api_token: str, count: int, repository: str) -> list[str]:
    """``count`` sealed traces in a prtrace home; their ids, oldest first."""
    return asyncio.run(_make(settings_for(home, api_token), count, repository))
