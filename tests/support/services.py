"""What every tier's tests share about services: skip or fail when one is missing,
and the S3 server and bucket the integration fixtures hand out.

A test that needs a service nobody provided is skipped on a developer's machine
but FAILS in CI (``CI`` set): ``./dev test`` provisions everything, so a missing
service in CI is a broken setup, not a reason to pass quietly.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import pytest

# free_port(): a TCP port nobody listens on, on 127.0.0.1 (re-exported for tests).
from prtrace.demo.server import free_port

__all__ = ["S3Bucket", "S3Server", "free_port", "in_ci", "service_required"]


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
