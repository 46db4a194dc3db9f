"""Fixtures of the end-to-end tier: Docker, editors, browsers, real shells, the demo.

The Docker engine (``docker_client``) is skipped on a developer's machine without
an engine and fails in CI (``tests/support/services.py``); ``./dev test`` starts
one and builds the QA test images. The real ``prtrace serve`` fixtures are in
``tests/conftest.py``.
"""

from __future__ import annotations

import pytest

from tests.support.qa_support import GO_IMAGE, PY_IMAGE
from tests.support.services import service_required


@pytest.fixture(scope="session")
def docker_client():
    """The engine at DOCKER_HOST with the standard test images, or skip/fail."""
    try:
        import docker
        import docker.errors

        client = docker.from_env(timeout=60)
        client.ping()
    except Exception as exc:
        service_required(f"no Docker engine answers ({exc}); run scripts/docker-up.sh")
        return None
    for image in (PY_IMAGE, GO_IMAGE):
        try:
            client.images.get(image)
        except docker.errors.ImageNotFound:
            service_required(
                f"test image {image} missing; run python -m prtrace.qa.images build --all"
            )
    return client
