"""Shared fixtures. Real services only: a real PostgreSQL, a real S3-protocol
server (moto) and a real ``prtrace serve`` process, all on loopback.

A test that needs a service nobody provided is skipped on a developer's
machine but FAILS in CI (``CI`` set): ``./dev test`` provisions everything, so
a missing service in CI is a broken setup, not a reason to pass quietly.

Sections: helpers · PostgreSQL · S3 · prtrace server. Add new fixtures to the
section they belong to (or a new section), not at the end.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

# free_port(): a TCP port nobody listens on, on 127.0.0.1 (re-exported for tests).
from prtrace.demo.server import ServerProcess, free_port

__all__ = ["S3Bucket", "S3Server", "ServerProcess", "free_port", "in_ci", "service_required"]

# --- helpers ------------------------------------------------------------------


def in_ci() -> bool:
    return bool(os.environ.get("CI"))


def service_required(reason: str) -> None:
    """Skip the test for ``reason`` on a developer's machine; fail it in CI.

    Call it where a needed service is missing, e.g.
    ``service_required("PRTRACE_TEST_PG_URL is not set")``.
    """
    if in_ci():
        pytest.fail(f"required service missing in CI: {reason}", pytrace=False)
    pytest.skip(reason)


# --- PostgreSQL -------------------------------------------------------------------


def _asyncpg_dsn(sqlalchemy_url: str) -> str:
    """``postgresql+asyncpg://…`` → ``postgresql://…`` for asyncpg itself."""
    scheme, rest = sqlalchemy_url.split("://", 1)
    return "postgresql://" + rest if scheme.startswith("postgresql") else sqlalchemy_url


def _with_database(url: str, name: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).set(database=name).render_as_string(hide_password=False)


async def _admin(url: str, statement: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(_asyncpg_dsn(url), timeout=30)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


def _fresh_pg_database() -> Iterator[str]:
    server_url = os.environ.get("PRTRACE_TEST_PG_URL")
    if not server_url:
        service_required("PRTRACE_TEST_PG_URL is not set (run the suite with ./dev test)")
    assert server_url is not None
    name = f"prtrace_test_{uuid.uuid4().hex[:16]}"
    # Fixtures run outside the test's event loop, so a private loop is safe here.
    asyncio.run(_admin(server_url, f'CREATE DATABASE "{name}"'))
    try:
        yield _with_database(server_url, name)
    finally:
        asyncio.run(_admin(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for this test, as a SQLAlchemy async
    URL (``postgresql+asyncpg://…``); dropped afterwards.

    The server comes from ``PRTRACE_TEST_PG_URL`` (``./dev test`` sets it).
    """
    yield from _fresh_pg_database()


@pytest.fixture(scope="module")
def module_pg_url() -> Iterator[str]:
    """Like ``pg_url``, one database shared by a module's tests (a server they all use)."""
    yield from _fresh_pg_database()


# --- S3 (moto's server: the real S3 protocol on loopback) ---------------------------


@dataclass(frozen=True)
class S3Server:
    endpoint: str
    """``host:port``, as the ``minio`` client and ``PRTRACE_S3_ENDPOINT`` want it."""
    url: str
    """``http://host:port``."""
    access_key: str
    secret_key: str
    region: str = "us-east-1"


@dataclass(frozen=True)
class S3Bucket:
    server: S3Server
    name: str

    @property
    def endpoint(self) -> str:
        return self.server.endpoint

    @property
    def access_key(self) -> str:
        return self.server.access_key

    @property
    def secret_key(self) -> str:
        return self.server.secret_key

    @property
    def blob_url(self) -> str:
        """The ``PRTRACE_BLOB_URL`` for this bucket."""
        return f"s3://{self.name}"

    def env(self) -> dict[str, str]:
        """The settings that point prtrace at this bucket."""
        return {
            "PRTRACE_BLOB_URL": self.blob_url,
            "PRTRACE_S3_ENDPOINT": self.endpoint,
            "PRTRACE_S3_ACCESS_KEY": self.access_key,
            "PRTRACE_S3_SECRET_KEY": self.secret_key,
            "PRTRACE_S3_SECURE": "false",
        }

    def client(self):  # -> minio.Minio
        from minio import Minio

        return Minio(
            self.endpoint,
            access_key=self.access_key,
            secret_key=self.secret_key,
            secure=False,
            region=self.server.region,
        )


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    """One moto S3 server on a free loopback port for the whole session."""
    try:
        from moto.server import ThreadedMotoServer
    except ImportError:
        service_required("moto[server] is not installed")
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield S3Server(
            endpoint=f"127.0.0.1:{port}",
            url=f"http://127.0.0.1:{port}",
            access_key="prtrace-test-access",
            secret_key="prtrace-test-secret",
        )
    finally:
        server.stop()


def _new_bucket(server: S3Server) -> S3Bucket:
    bucket = S3Bucket(server, f"prtrace-test-{uuid.uuid4().hex[:12]}")
    bucket.client().make_bucket(bucket.name)
    return bucket


@pytest.fixture
def s3_bucket(s3_server: S3Server) -> S3Bucket:
    """A fresh, empty bucket on the session's S3 server."""
    return _new_bucket(s3_server)


@pytest.fixture(scope="module")
def module_s3_bucket(s3_server: S3Server) -> S3Bucket:
    """Like ``s3_bucket``, one bucket shared by a module's tests."""
    return _new_bucket(s3_server)


# --- prtrace server (a real `prtrace serve` process) -----------------------------------


@pytest.fixture
def start_prtrace_server(tmp_path: Path) -> Iterator[Callable[..., ServerProcess]]:
    """A factory for real ``prtrace serve`` processes with settings of your own,
    e.g. ``start_prtrace_server(env={"PRTRACE_DATABASE_URL": pg_url})``.

    Each is healthy when returned and stopped after the test. QA on finalize
    is off unless ``env`` turns it on (it needs Docker).
    """
    started: list[ServerProcess] = []

    def start(env: dict[str, str] | None = None, home: Path | None = None) -> ServerProcess:
        settings = {"PRTRACE_QA_ON_FINALIZE": "false", **(env or {})}
        server = ServerProcess(home or tmp_path / f"prtrace-home-{len(started)}", env=settings)
        started.append(server)
        return server.start()

    yield start
    for server in started:
        server.stop()


@pytest.fixture(scope="module")
def module_prtrace_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One real ``prtrace serve`` shared by a whole test module (QA on finalize off), for
    files whose tests each make their own traces and do not disturb each other."""
    server = ServerProcess(
        tmp_path_factory.mktemp("module-server") / "prtrace-home",
        env={"PRTRACE_QA_ON_FINALIZE": "false"},
    )
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def prtrace_server(start_prtrace_server: Callable[..., ServerProcess]) -> ServerProcess:
    """A real ``prtrace serve`` on a free loopback port, healthy when yielded.

    It has a private ``PRTRACE_HOME`` (``.home``), an API token
    (``.api_token``) and its ``.url``; ``.kill9()`` crashes it and
    ``.restart()`` brings it back on the same port and home (``.log_tail()``
    shows what it printed). SQLite and blob folder in its home; QA on
    finalize off.
    """
    return start_prtrace_server()
