"""Database tables and the engine: SQLite (default) or PostgreSQL, one code path.

SQLite is opened in WAL mode with ``synchronous=NORMAL``: a committed
transaction survives a crash of the process (``kill -9``), which is what an
acknowledged batch promises. Writes take ``BEGIN IMMEDIATE`` so that two
processes (server and a standalone worker) queue on the write lock instead of
failing half-way through a transaction.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import (
    BigInteger,
    Column,
    Float,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
    create_engine,
    event,
)
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

T = TypeVar("T")

metadata = MetaData()

traces = Table(
    "traces",
    metadata,
    Column("trace_id", String(64), primary_key=True),
    Column("created_at", Float, nullable=False, index=True),
    Column("status", String(16), nullable=False),
    Column("developer_id", String(256), nullable=False, index=True),
    Column("repository", Text, nullable=False, index=True),
    Column("commit", String(64), nullable=False),
    Column("meta", LargeBinary, nullable=False),
    Column("upload_token_hash", String(64), nullable=False),
    Column("event_count", Integer, nullable=False, default=0),
    Column("artifacts", LargeBinary),
    Column("sealed_at", Float),
    Column("document_key", Text),
    Column("qa_status", String(16), nullable=False, default="none"),
    Column("qa_tests", LargeBinary),
    Column("qa_judge", LargeBinary),
    Column("verdict", String(32)),
    Column("overall", Float),
    Column("qa_updated_at", Float),
)

batches = Table(
    "batches",
    metadata,
    Column("trace_id", String(64), nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("body_hash", String(64), nullable=False),
    Column("count", Integer, nullable=False),
    Column("created_at", Float, nullable=False),
    PrimaryKeyConstraint("trace_id", "seq"),
)

events = Table(
    "events",
    metadata,
    Column("trace_id", String(64), nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("idx", Integer, nullable=False),
    Column("event_id", String(128), nullable=False),
    Column("type", String(32), nullable=False),
    Column("t", Float, nullable=False),
    Column("body", LargeBinary, nullable=False),
    Column("blob_fields", LargeBinary),
    PrimaryKeyConstraint("trace_id", "seq", "idx"),
    UniqueConstraint("trace_id", "event_id", name="uq_events_trace_event_id"),
)

# The event types each trace holds (migration 0003), for the trace list's
# ``has_type``: a few rows a batch instead of an index entry an event.
trace_event_types = Table(
    "trace_event_types",
    metadata,
    Column("trace_id", String(64), nullable=False),
    Column("type", String(32), nullable=False),
    PrimaryKeyConstraint("trace_id", "type"),
)

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("name", String(128), nullable=False),
    Column("created_at", Float, nullable=False),
)

jobs = Table(
    "jobs",
    metadata,
    Column("job_id", String(64), primary_key=True),
    Column("kind", String(64), nullable=False),
    Column("trace_id", String(64), index=True),
    Column("payload", LargeBinary),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("max_attempts", Integer, nullable=False, default=3),
    Column("lease_owner", String(128)),
    Column("lease_expires_at", Float),
    Column("run_after", Float, nullable=False),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    Column("result", LargeBinary),
    Column("error", Text),
    Index("ix_jobs_status_run_after", "status", "run_after"),
)

# Every LLM judgement of a trace, kept as history (migration 0002); the latest is
# also in traces.qa_judge. ``result`` is the JudgeResult JSON.
judgements = Table(
    "judgements",
    metadata,
    Column("judgement_id", String(64), primary_key=True),
    Column("trace_id", String(64), nullable=False),
    Column("job_id", String(64)),
    Column("created_at", Float, nullable=False),
    Column("status", String(16), nullable=False),
    Column("model", String(256)),
    Column("rubric_id", String(64)),
    Column("rubric_version", String(64)),
    Column("overall", Float),
    Column("result", LargeBinary, nullable=False),
    Index("ix_judgements_trace_created", "trace_id", "created_at"),
)


def normalise_url(url: str) -> str:
    """Accept ``postgresql://`` and ``sqlite:///`` and pick the async drivers."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        return "postgresql+asyncpg://" + url[len("postgresql://") :]
    if url.startswith("sqlite:///"):
        return "sqlite+aiosqlite:///" + url[len("sqlite:///") :]
    return url


class Database:
    """The engine plus the one way to open a read or a write transaction."""

    def __init__(self, url: str) -> None:
        self.url = normalise_url(url)
        parsed = make_url(self.url)
        self.is_sqlite = parsed.get_backend_name() == "sqlite"
        self.kind = "sqlite" if self.is_sqlite else parsed.get_backend_name()
        if self.is_sqlite and parsed.database:
            Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        self.engine: AsyncEngine = create_async_engine(self.url, **self._engine_options())
        self._write_lock = asyncio.Lock()
        self._asyncpg_pool: Any = None
        self._asyncpg_pool_lock = asyncio.Lock()
        self._insert_cache: dict[tuple[str, str], str] = {}
        self._sync_engine: Engine | None = None
        self._writer: concurrent.futures.ThreadPoolExecutor | None = None
        if self.is_sqlite:
            _install_sqlite_hooks(self.engine.sync_engine)

    def _engine_options(self) -> dict:
        if self.is_sqlite:
            return {"connect_args": {"timeout": 30}}
        return {"pool_size": 10, "max_overflow": 10, "pool_pre_ping": True}

    @contextlib.asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncConnection]:
        """A write transaction; on SQLite one at a time per process, ``BEGIN IMMEDIATE``."""
        if self.is_sqlite:
            async with self._write_lock, self.engine.connect() as conn:
                conn = await conn.execution_options(sqlite_begin="IMMEDIATE")
                async with conn.begin():
                    yield conn
        else:
            async with self.engine.begin() as conn:
                yield conn

    async def run_write(self, fn: Callable[[Connection], T]) -> T:
        """Run ``fn(connection)`` in one write transaction, as a single unit of work.

        On SQLite the whole function runs in one dedicated writer thread with a
        plain ``sqlite3`` connection: one hand-over instead of one per
        statement, so a batch's transaction is never left waiting for the
        event loop between its statements. On PostgreSQL it runs through the
        async engine (``run_sync``). Either way the SQL is the same Core code.
        """
        if not self.is_sqlite:
            async with self.engine.begin() as conn:
                return await conn.run_sync(fn)
        async with self._write_lock:
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self._writer_thread(), self._run_sqlite_write, fn)

    def _writer_thread(self) -> concurrent.futures.ThreadPoolExecutor:
        if self._writer is None:
            self._writer = concurrent.futures.ThreadPoolExecutor(1, "prtrace-sqlite-writer")
            sync_url = self.url.replace("sqlite+aiosqlite://", "sqlite+pysqlite://", 1)
            self._sync_engine = create_engine(sync_url, **self._engine_options())
            _install_sqlite_hooks(self._sync_engine)
        return self._writer

    def _run_sqlite_write(self, fn: Callable[[Connection], T]) -> T:
        assert self._sync_engine is not None
        with self._sync_engine.connect() as conn:
            conn = conn.execution_options(sqlite_begin="IMMEDIATE")
            with conn.begin():
                return fn(conn)

    @contextlib.asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        async with self.engine.connect() as conn:
            yield conn

    def insert_many(self, conn: Connection, table: Table, rows: list[tuple]) -> None:
        """Insert row tuples (in the table's column order) with the driver's executemany.

        The ingest hot path (inside :meth:`run_write`): SQLAlchemy's per-row
        parameter processing costs more than SQLite's own insert for
        1000-event batches, and these columns need none (bytes, str, int,
        float go to the driver as they are).
        """
        if rows:
            conn.exec_driver_sql(self._insert_sql(table, conn.dialect.paramstyle), rows)

    def _insert_sql(self, table: Table, style: str) -> str:
        sql = self._insert_cache.get((table.name, style))
        if sql is None:
            count = len(table.columns)
            if style == "qmark":
                marks = ", ".join("?" * count)
            elif style in ("numeric_dollar", "numeric"):
                sign = "$" if style == "numeric_dollar" else ":"
                marks = ", ".join(f"{sign}{i}" for i in range(1, count + 1))
            else:
                marks = ", ".join(["%s"] * count)
            names = ", ".join(f'"{c.name}"' for c in table.columns)
            sql = f'INSERT INTO "{table.name}" ({names}) VALUES ({marks})'
            self._insert_cache[(table.name, style)] = sql
        return sql

    @contextlib.asynccontextmanager
    async def asyncpg_transaction(self) -> AsyncIterator[Any]:
        """PostgreSQL only: an asyncpg connection in a transaction.

        The ingest hot path (see ``TraceStore.append_decoded``): ``COPY`` of the event
        rows and hand-written statements, with none of SQLAlchemy's per-statement
        work between them. The connections are a pool of asyncpg's own, next to the
        engine's: SQLAlchemy's checkout pings each connection first (a round trip,
        and a sixth of the server's CPU on ingest), while asyncpg's pool sees a
        connection the server closed as soon as the event loop reads its end, and
        replaces it on the next checkout. A connection lost in the middle raises,
        and the client retries: a batch is idempotent.
        """
        pool = self._asyncpg_pool or await self._open_asyncpg_pool()
        async with pool.acquire() as conn, conn.transaction():
            yield conn

    async def _open_asyncpg_pool(self) -> Any:
        async with self._asyncpg_pool_lock:
            if self._asyncpg_pool is None:
                import asyncpg  # type: ignore[import-untyped]

                # The URL's options as the engine reads them; the one that is the
                # engine's own (its statement cache) is asyncpg's under its name.
                _, options = self.engine.dialect.create_connect_args(self.engine.url)
                cache_size = options.pop("prepared_statement_cache_size", None)
                if cache_size is not None:
                    options["statement_cache_size"] = cache_size
                self._asyncpg_pool = await asyncpg.create_pool(
                    **options,
                    min_size=0,
                    max_size=_ASYNCPG_POOL_SIZE,
                    reset=_keep_connection_as_is,
                )
        return self._asyncpg_pool

    async def ping(self) -> None:
        """One round trip to the database: what a health check needs, at any table size."""
        async with self.engine.connect() as conn:
            await conn.exec_driver_sql("SELECT 1")

    async def dispose(self) -> None:
        if self._asyncpg_pool is not None:
            pool, self._asyncpg_pool = self._asyncpg_pool, None
            await pool.close()
        await self.engine.dispose()
        if self._writer is not None:
            self._writer.shutdown(wait=True)
            self._writer = None
        if self._sync_engine is not None:
            self._sync_engine.dispose()


_ASYNCPG_POOL_SIZE = 10
"""Connections of the ingest pool (:meth:`Database.asyncpg_transaction`), as many as
the engine keeps: one per batch being written at once."""


async def _keep_connection_as_is(conn: Any) -> None:
    """asyncpg resets a connection it takes back (advisory locks, ``LISTEN``, session
    settings: a round trip); the ingest path uses none of them, and its transaction
    has ended (committed or rolled back) before the connection goes back."""


def _install_sqlite_hooks(engine: Engine) -> None:
    """WAL, durable commits, and explicit BEGIN (SQLAlchemy's documented recipe)."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")
