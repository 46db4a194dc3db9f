"""Migration 0003 on a database that already holds events: the types of each trace are
copied into ``trace_event_types`` and the ``(trace_id, type)`` index goes, on SQLite and
on PostgreSQL."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection

from prtrace.backend.storage import migrate
from prtrace.backend.storage.db import Database


def _upgrade(connection: Connection, revision: str) -> None:
    command.upgrade(migrate._alembic_config(connection), revision)


def _event_indexes(connection: Connection) -> list[str]:
    return [ix["name"] for ix in inspect(connection).get_indexes("events")]


async def _migrate_with_events(url: str) -> tuple[list[tuple[str, str]], list[str], list[str]]:
    db = Database(url)
    try:
        async with db.write() as conn:
            await conn.run_sync(_upgrade, "0002")
            before = await conn.run_sync(_event_indexes)
            rows = [("tr_a", 0, 0, "edit"), ("tr_a", 0, 1, "edit"), ("tr_a", 1, 0, "thought")]
            rows += [("tr_b", 0, 0, "terminal_command")]
            for trace_id, seq, idx, kind in rows:
                await conn.execute(
                    text(
                        "INSERT INTO events (trace_id, seq, idx, event_id, type, t, body)"
                        " VALUES (:trace, :seq, :idx, :id, :type, 0, :body)"
                    ),
                    {
                        "trace": trace_id,
                        "seq": seq,
                        "idx": idx,
                        "id": f"{seq}-{idx}",
                        "type": kind,
                        "body": b"{}",
                    },
                )
            await conn.run_sync(_upgrade, "head")
            after = await conn.run_sync(_event_indexes)
            found = await conn.execute(
                text("SELECT trace_id, type FROM trace_event_types ORDER BY trace_id, type")
            )
            return [tuple(row) for row in found], before, after
    finally:
        await db.dispose()


def _check(result: tuple[list[tuple[str, str]], list[str], list[str]]) -> None:
    types, before, after = result
    assert types == [("tr_a", "edit"), ("tr_a", "thought"), ("tr_b", "terminal_command")]
    assert "ix_events_trace_type" in before
    assert "ix_events_trace_type" not in after


def test_migration_0003_on_sqlite(tmp_path: Path) -> None:
    _check(asyncio.run(_migrate_with_events(f"sqlite:///{tmp_path / 'db.sqlite'}")))


@pytest.mark.postgres
def test_migration_0003_on_postgresql(pg_url: str) -> None:
    _check(asyncio.run(_migrate_with_events(pg_url)))
