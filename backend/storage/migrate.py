"""Run the Alembic migrations to head; called on every start.

On PostgreSQL a transaction-scoped advisory lock makes concurrent starts of
several replicas take turns, so exactly one of them migrates.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import text
from sqlalchemy.engine import Connection

from prtrace.backend.storage.db import Database

_MIGRATIONS = Path(__file__).with_name("migrations")
_ADVISORY_LOCK_ID = 0x70727472  # "prtr"


def _alembic_config(connection: Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def _upgrade_sync(connection: Connection) -> None:
    command.upgrade(_alembic_config(connection), "head")


async def upgrade(db: Database) -> None:
    async with db.write() as conn:
        if not db.is_sqlite:
            await conn.execute(text(f"SELECT pg_advisory_xact_lock({_ADVISORY_LOCK_ID})"))
        await conn.run_sync(_upgrade_sync)
