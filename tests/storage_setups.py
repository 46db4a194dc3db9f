"""Build in-process backend Services over each storage combination.

The storage tests run the same assertions on SQLite and PostgreSQL, and on
the blob folder and S3 (moto). These fixtures make the four combinations.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from prtrace.backend.services import Services
from prtrace.config import load_settings


def make_settings(home: Path, database_url: str | None, blob_env: dict[str, str], **extra: str):
    environ = {"PRTRACE_HOME": str(home), "PRTRACE_API_TOKEN": "pta_storage-test", **blob_env}
    if database_url:
        environ["PRTRACE_DATABASE_URL"] = database_url
    environ.update(extra)
    return load_settings(environ=environ)


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
    settings = make_settings(tmp_path / "home", database_url, blob_env, PRTRACE_QA_ON_FINALIZE="false")
    svc = await Services.open(settings)
    try:
        yield svc
    finally:
        await svc.close()
