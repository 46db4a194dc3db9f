"""Fixtures of the integration tier: real services on loopback.

A real PostgreSQL (``PRTRACE_TEST_PG_URL``, which ``./dev test`` provisions), a real
S3-protocol server (moto) and the backend's in-process ``Services`` over each
storage combination. A test that needs a service nobody provided is skipped on a
developer's machine but fails in CI (``tests/support/services.py``). The real
``prtrace serve`` fixtures are in ``tests/conftest.py`` (e2e uses them too).

Sections: PostgreSQL · S3 · storage setups. Add new fixtures to the section they
belong to (or a new section), not at the end.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from prtrace.backend.services import Services
from tests.support.services import S3Bucket, S3Server, free_port, service_required
from tests.support.storage_setups import make_settings

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


# --- storage setups (the backend's Services over each storage combination) ---------
#
# The storage tests run the same assertions on SQLite and PostgreSQL, and on the
# blob folder and S3 (moto). These fixtures make the four combinations.


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path}/prtrace.db"
    return request.getfixturevalue("pg_url")


@pytest.fixture(params=["folder", "s3"])
def blob_env(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, str]:
    if request.param == "folder":
        return {"PRTRACE_BLOB_URL": str(tmp_path / "blobs")}
    return request.getfixturevalue("s3_bucket").env()


@pytest.fixture
async def services(
    tmp_path: Path, database_url: str, blob_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Services]:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    settings = make_settings(
        tmp_path / "home", database_url, blob_env, PRTRACE_QA_ON_FINALIZE="false"
    )
    svc = await Services.open(settings)
    try:
        yield svc
    finally:
        await svc.close()
