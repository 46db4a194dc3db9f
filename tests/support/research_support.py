"""Helpers for the research-surface tests (query, export, replay, viewer).

Traces are made over real HTTP; QA results (verdict, overall, the judge's
JSON) are written straight into the server's database, as the QA job would,
because these tests are about reading them, not making them.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
from sqlalchemy import update

from prtrace import events as ev
from prtrace.client import Client
from prtrace.demo.server import ServerProcess
from prtrace.trace import Artifacts, Developer, Task

START = datetime(2024, 3, 4, 9, 30, tzinfo=UTC)


def database_url(server: ServerProcess) -> str:
    """The server's database: its PRTRACE_DATABASE_URL, else SQLite in its home."""
    url = server.extra_env.get("PRTRACE_DATABASE_URL")
    return url or f"sqlite+aiosqlite:///{server.home / 'prtrace.db'}"


def set_qa(server: ServerProcess, trace_id: str, **values: Any) -> None:
    """Write ``traces`` QA columns (verdict, overall, qa_status, qa_judge, qa_tests)."""
    from prtrace.backend.storage.db import Database, traces

    for key in ("qa_judge", "qa_tests"):
        if key in values and not isinstance(values[key], bytes):
            values[key] = msgspec.json.encode(values[key])

    async def write() -> None:
        db = Database(database_url(server))
        try:
            async with db.write() as conn:
                await conn.execute(
                    update(traces).where(traces.c.trace_id == trace_id).values(**values)
                )
        finally:
            await db.dispose()

    asyncio.run(write())


def make_trace(
    client: Client,
    events: list[Any],
    *,
    repository: str = "https://example.com/r.git",
    developer: str = "dana",
    commit: str = "3f2a9c1d",
    final_patch: str | None = None,
    finalize: bool = True,
    batch: int = 2000,
    test_command: str | None = None,
) -> str:
    """Create a trace, upload ``events`` in batches, optionally finalize; its id."""
    created = client.create_trace(
        Developer(id=developer),
        Task(repository=repository, commit=commit, test_command=test_command),
    )
    for seq, i in enumerate(range(0, len(events), batch)):
        client.upload_events(
            created.trace_id, seq, events[i : i + batch], token=created.upload_token
        )
    if finalize:
        artifacts = Artifacts(final_patch=final_patch) if final_patch else None
        client.finalize(created.trace_id, artifacts, token=created.upload_token)
    return created.trace_id


def thought(i: int, text: str, at: datetime = START) -> ev.Thought:
    return ev.Thought(id=f"th{i}", t=at + timedelta(seconds=i), session_id="s", raw=text)


def command(
    i: int, cmd: str, exit_code: int, stdout: str = "", at: datetime = START
) -> ev.TerminalCommand:
    return ev.TerminalCommand(
        id=f"cmd{i}",
        t=at + timedelta(seconds=i),
        session_id="s",
        cmd=cmd,
        exit_code=exit_code,
        stdout=stdout,
    )


def opened(i: int, path: str, at: datetime = START) -> ev.FileOpened:
    return ev.FileOpened(id=f"op{i}", t=at + timedelta(seconds=i), session_id="s", path=path)
