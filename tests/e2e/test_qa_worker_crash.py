"""QA on the job queue through the real server: auto-QA on finalize, and a
worker killed with ``kill -9`` mid-job whose job the next worker completes once."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import httpx

from prtrace.demo.server import ServerProcess, prtrace_command
from tests.support.qa_support import PY_IMAGE, diff_of, make_repo

SLOW_CALC = "def add(a, b):\n    return a - b\n"
SLOW_TESTS = (
    "import time\nfrom calc import add\n\n\n"
    "def test_add():\n    time.sleep(4)\n    assert add(2, 3) == 5\n"
)


def start_worker(server: ServerProcess, log: Path) -> subprocess.Popen:
    env = server.environment()
    env.update(PRTRACE_JOB_LEASE_SECONDS="3")
    return subprocess.Popen(
        [*prtrace_command(), "worker", "--concurrency", "1"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log.open("ab"),
    )


def create_and_finalize(
    server: ServerProcess, repo: Path, commit: str, patch: str
) -> tuple[str, str]:
    api = {"Authorization": f"Bearer {server.api_token}"}
    created = (
        httpx.post(
            f"{server.url}/traces",
            headers=api,
            json={
                "developer": {"id": "qa-crash"},
                "task": {
                    "repository": str(repo),
                    "commit": commit,
                    "test_image": PY_IMAGE,
                    "test_command": "python3 -m pytest -q",
                },
            },
        )
        .raise_for_status()
        .json()
    )
    upload = {"Authorization": f"Bearer {created['upload_token']}"}
    sealed = (
        httpx.post(
            f"{server.url}/traces/{created['trace_id']}/finalize",
            headers=upload,
            json={"artifacts": {"final_patch": patch}},
        )
        .raise_for_status()
        .json()
    )
    return created["trace_id"], sealed["qa_job_id"]


def job(server: ServerProcess, job_id: str) -> dict:
    api = {"Authorization": f"Bearer {server.api_token}"}
    return httpx.get(f"{server.url}/jobs/{job_id}", headers=api).raise_for_status().json()


def wait_until(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def test_worker_killed_mid_qa_job_completes_once_on_the_next(tmp_path: Path, docker_client) -> None:
    repo, commit = make_repo(
        tmp_path / "calc", {"calc.py": SLOW_CALC, "tests/test_calc.py": SLOW_TESTS}
    )
    patch = diff_of(repo, {"calc.py": SLOW_CALC.replace("a - b", "a + b")})
    server = ServerProcess(
        tmp_path / "home", env={"PRTRACE_WORKERS": "0", "PRTRACE_QA_ON_FINALIZE": "true"}
    )
    server.start()
    first = second = None
    try:
        trace_id, job_id = create_and_finalize(server, repo, commit, patch)
        assert job_id, "finalize did not queue QA"
        first = start_worker(server, tmp_path / "worker1.log")
        # Kill it while its container runs the tests at the base commit.
        wait_until(
            lambda: docker_client.containers.list(filters={"label": f"prtrace.job={job_id}"}),
            90,
            "the first worker's test container",
        )
        first.send_signal(signal.SIGKILL)
        first.wait()
        assert job(server, job_id)["status"] == "running"
        second = start_worker(server, tmp_path / "worker2.log")
        wait_until(
            lambda: job(server, job_id)["status"] in ("done", "error"), 180, "the job to finish"
        )
        final = job(server, job_id)
        trace = httpx.get(
            f"{server.url}/traces/{trace_id}",
            headers={"Authorization": f"Bearer {server.api_token}"},
        ).json()
    finally:
        for proc in (first, second):
            if proc and proc.poll() is None:
                proc.terminate()
                proc.wait(timeout=30)
        server.stop()
    assert final["status"] == "done" and final["attempts"] == 2, final
    assert trace["qa"]["status"] == "done"
    assert trace["qa"]["tests"]["verdict"] == "resolved", trace["qa"]["tests"]
    assert trace["qa"]["tests"]["fail_to_pass"] == ["tests/test_calc.py::test_add"]


def test_trace_qa_wait_prints_the_verdict(tmp_path: Path, docker_client) -> None:
    calc = "def add(a, b):\n    return a - b\n"
    tests = "from calc import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n"
    repo, commit = make_repo(tmp_path / "calc", {"calc.py": calc, "tests/test_calc.py": tests})
    patch = diff_of(repo, {"calc.py": calc.replace("a - b", "a + b")})
    server = ServerProcess(tmp_path / "home", env={"PRTRACE_QA_ON_FINALIZE": "false"})
    server.start()
    try:
        trace_id, job_id = create_and_finalize(server, repo, commit, patch)
        assert job_id is None  # QA on finalize is off here
        env = server.environment()
        done = subprocess.run(
            [*prtrace_command(), "trace", "qa", trace_id, "--wait", "--timeout", "180"],
            env=env,
            capture_output=True,
            text=True,
            timeout=240,
        )
    finally:
        server.stop()
    assert done.returncode == 0, done.stderr
    assert "verdict resolved" in done.stdout
    assert "fixed     tests/test_calc.py::test_add" in done.stdout
