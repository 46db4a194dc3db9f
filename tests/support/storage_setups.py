"""Settings for in-process backend Services over a storage combination.

The fixtures that make the four combinations (SQLite or PostgreSQL, blob folder
or S3) are in tests/integration/conftest.py.
"""

from __future__ import annotations

from pathlib import Path

from prtrace.config import load_settings


def make_settings(home: Path, database_url: str | None, blob_env: dict[str, str], **extra: str):
    environ = {"PRTRACE_HOME": str(home), "PRTRACE_API_TOKEN": "pta_storage-test", **blob_env}
    if database_url:
        environ["PRTRACE_DATABASE_URL"] = database_url
    environ.update(extra)
    return load_settings(environ=environ)
