"""The deployment artefacts: ``docker-compose.yml`` is valid, and the ``Dockerfile``
builds FROM a locally built base image and its container answers ``/healthz``.

No image registry is reachable here, so the compose stack itself (postgres,
minio, docker:dind) cannot be started: the compose file is checked by
``docker-compose config``, and the prtrace image is started on its own, with
no network (the engine runs with ``--bridge=none``), its health probed from
inside the container.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from pathlib import Path

import pytest
import yaml  # PyYAML (schemathesis depends on it)

from tests.support.services import service_required

ROOT = Path(__file__).resolve().parents[2]
IMAGE = "prtrace:ci-test"
HEALTH = (
    "import urllib.request; "
    "print(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=3).read().decode())"
)

pytestmark = pytest.mark.slow


def compose_config() -> dict:
    compose = shutil.which("docker-compose")
    if compose is None:
        service_required("docker-compose is not installed (./dev test installs it)")
    done = subprocess.run(
        [compose, "--env-file", ".env.example", "-f", "docker-compose.yml", "config"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return yaml.safe_load(done.stdout)


def test_the_compose_file_is_valid_and_has_the_whole_stack() -> None:
    config = compose_config()
    services = config["services"]
    assert {"api", "worker", "postgres", "minio", "createbucket", "dind"} <= set(services)
    assert services["api"]["deploy"]["replicas"] == 2
    assert services["api"]["environment"]["PRTRACE_WORKERS"] == "0"
    assert services["worker"]["environment"]["DOCKER_HOST"] == "tcp://dind:2375"
    for name in ("api", "worker", "postgres", "minio", "dind"):
        assert "healthcheck" in services[name], name

    # Worker and engine see QA checkouts at the same path (bind mounts).
    def mounts(service: str) -> set[str]:
        return {
            volume.split(":")[1]
            for volume in services[service]["volumes"]
            if volume.startswith("qa-work:")
        }

    assert mounts("worker") == mounts("dind") == {"/var/lib/prtrace"}
    assert config["networks"]["qa"]["internal"] is True


@pytest.fixture(scope="module")
def built_image(docker_client) -> str:
    done = subprocess.run(
        [str(ROOT / "scripts/build-image.sh"), IMAGE],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-5000:]
    return IMAGE


def run_container(client, image: str, *command: str):
    return client.containers.run(
        image,
        list(command) or None,
        detach=True,
        network_mode="none",
        environment={"PRTRACE_API_TOKEN": "pta_image-test"},
    )


def test_the_image_serves_healthz_as_an_unprivileged_user(docker_client, built_image: str) -> None:
    container = run_container(docker_client, built_image)
    try:
        deadline = time.monotonic() + 60
        while True:
            code, output = container.exec_run(["python", "-c", HEALTH])
            if code == 0 or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert code == 0, container.logs().decode(errors="replace")[-3000:]
        health = json.loads(output)
        assert health["status"] == "ok" and health["database"] == "sqlite"
        code, uid = container.exec_run(["id", "-u"])
        assert uid.decode().strip() == "1000"
        assert docker_client.images.get(built_image).attrs["Config"]["Healthcheck"]["Test"]
    finally:
        container.remove(force=True)


def test_the_image_runs_a_worker(docker_client, built_image: str) -> None:
    container = run_container(docker_client, built_image, "worker", "--concurrency", "1")
    try:
        deadline = time.monotonic() + 60
        while b"started with 1 slot" not in container.logs() and time.monotonic() < deadline:
            container.reload()
            assert container.status in ("created", "running"), container.logs().decode()[-3000:]
            time.sleep(0.5)
        assert b"started with 1 slot" in container.logs(), container.logs().decode()[-3000:]
    finally:
        container.remove(force=True)
