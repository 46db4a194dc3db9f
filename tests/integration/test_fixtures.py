"""The shared fixtures (tests/conftest.py, tests/integration/conftest.py) give what they promise."""

from __future__ import annotations

import asyncio
import io

import httpx
import pytest

from prtrace.client import Client
from prtrace.trace import Developer, Task
from tests.support.services import S3Bucket, free_port


def test_free_port_can_be_bound() -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", free_port()))


def test_pg_url_is_a_fresh_database_of_its_own(pg_url: str) -> None:
    import asyncpg

    assert pg_url.startswith("postgresql+asyncpg://")

    async def inspect() -> tuple[str, int]:
        connection = await asyncpg.connect(pg_url.replace("+asyncpg", "", 1))
        try:
            name = await connection.fetchval("SELECT current_database()")
            tables = await connection.fetchval(
                "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"
            )
            await connection.execute("CREATE TABLE scratch (x int)")
            return name, tables
        finally:
            await connection.close()

    name, tables = asyncio.run(inspect())
    assert name.startswith("prtrace_test_") and tables == 0


def test_s3_bucket_is_fresh_and_usable(s3_bucket: S3Bucket) -> None:
    client = s3_bucket.client()
    assert client.bucket_exists(s3_bucket.name)
    assert list(client.list_objects(s3_bucket.name)) == []
    client.put_object(s3_bucket.name, "a/b", io.BytesIO(b"blob"), 4)
    assert client.get_object(s3_bucket.name, "a/b").read() == b"blob"
    assert s3_bucket.env()["PRTRACE_BLOB_URL"] == f"s3://{s3_bucket.name}"


def test_prtrace_server_comes_back_after_kill9_with_its_data(prtrace_server) -> None:
    with Client(prtrace_server.url, prtrace_server.api_token) as api:
        created = api.create_trace(Developer(id="d"), Task(repository="r", commit="abcd123"))
    prtrace_server.kill9()
    with pytest.raises(httpx.TransportError):
        httpx.get(prtrace_server.url + "/healthz", timeout=5)
    prtrace_server.restart()
    with Client(prtrace_server.url, prtrace_server.api_token) as api:
        assert api.get_trace(created.trace_id).task.commit == "abcd123"
    assert (prtrace_server.home / "server.log").is_file()
