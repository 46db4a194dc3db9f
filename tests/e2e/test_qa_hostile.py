"""Hostile test code is contained and reported, and never hangs the worker.

Each case is a sample repository whose patch adds a test that misbehaves; the
limits are small so the suite stays quick. Every case also checks that no
labelled container is left behind.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from prtrace.qa.pipeline import QACancelled, QASettings, run_qa, run_qa_report
from prtrace.qa.runner import LABEL, Limits
from tests.support.qa_support import make_repo, make_trace

BASE = {
    "app.py": "VALUE = 1\n",
    "tests/test_app.py": "from app import VALUE\n\n\ndef test_value():\n    assert VALUE == 1\n",
}


def _hostile(tmp_path: Path, test_body: str):
    """A repository and a trace whose patch adds ``tests/test_hostile.py``."""
    repo, commit = make_repo(tmp_path / "repo", BASE)
    lines = test_body.strip("\n").splitlines()
    patch = f"--- /dev/null\n+++ b/tests/test_hostile.py\n@@ -0,0 +1,{len(lines)} @@\n" + "".join(
        f"+{ln}\n" for ln in lines
    )
    return make_trace(repo, commit, patch=patch)


def _settings(tmp_path: Path, **limits) -> QASettings:
    return QASettings(
        cache_dir=tmp_path / "cache",
        limits=Limits(**{"timeout_s": 30, "memory": "256m", "pids": 64, **limits}),
    )


def _no_leftovers(client, trace_id: str) -> None:
    left = client.containers.list(
        all=True, filters={"label": [f"{LABEL}=1", f"prtrace.trace={trace_id}"]}
    )
    assert left == []


def test_network_is_unreachable(tmp_path, docker_client):
    trace = _hostile(
        tmp_path,
        """
import os
import socket


def test_network():
    assert sorted(os.listdir("/sys/class/net")) == ["lo"]
    # A package registry the host itself reaches: from the container it must not be.
    socket.create_connection(("deb.debian.org", 80), timeout=5).close()
""",
    )
    res = run_qa(trace, settings=_settings(tmp_path))
    assert res.verdict == "not_resolved" and res.failed == 1
    assert "tests/test_hostile.py::test_network" not in res.fail_to_pass
    assert any(
        s in res.stdout
        for s in ("gaierror", "unreachable", "Temporary failure", "Name or service not known")
    )
    assert "assert [" not in res.stdout  # the failure is the connection, not the interfaces
    _no_leftovers(docker_client, trace.trace_id)


def test_fork_bomb_is_bounded(tmp_path, docker_client):
    trace = _hostile(
        tmp_path,
        """
import os


def test_fork_bomb():
    while True:
        try:
            os.fork()
        except OSError:
            pass
""",
    )
    res = run_qa(trace, settings=_settings(tmp_path, timeout_s=5, cpus=0.5, pids=32))
    assert res.verdict == "error" and res.error.kind == "timeout", res.error
    assert res.baseline.passed == 1  # the base run was unaffected
    _no_leftovers(docker_client, trace.trace_id)


def test_pids_limit_stops_forks(tmp_path, docker_client):
    trace = _hostile(
        tmp_path,
        """
import os
import signal
import time


def test_forks_hit_the_limit():
    children, refused = [], False
    try:
        for _ in range(500):
            pid = os.fork()
            if pid == 0:
                time.sleep(60)
                os._exit(0)
            children.append(pid)
    except BlockingIOError:
        refused = True
    finally:
        for pid in children:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
    assert refused and len(children) < 64
""",
    )
    res = run_qa(trace, settings=_settings(tmp_path, pids=48))
    assert res.verdict == "resolved", res.stdout
    assert res.fail_to_pass == ["tests/test_hostile.py::test_forks_hit_the_limit"]


def test_memory_past_the_limit_is_oom(tmp_path, docker_client):
    trace = _hostile(
        tmp_path,
        """
def test_hog():
    chunks = []
    for _ in range(64):
        chunks.append(bytearray(32 * 1024 * 1024))  # 2 GiB in all, touched
""",
    )
    res = run_qa(trace, settings=_settings(tmp_path, memory="128m"))
    assert res.verdict == "error" and res.error.kind == "oom", (res.error, res.stdout)
    assert "128m" in res.error.message
    _no_leftovers(docker_client, trace.trace_id)


def test_endless_loop_times_out(tmp_path, docker_client):
    trace = _hostile(
        tmp_path,
        """
def test_spin():
    while True:
        pass
""",
    )
    started = time.monotonic()
    res = run_qa(trace, settings=_settings(tmp_path, timeout_s=3))
    assert res.verdict == "error" and res.error.kind == "timeout"
    assert "3s" in res.error.message
    assert time.monotonic() - started < 60  # killed, not waited for
    _no_leftovers(docker_client, trace.trace_id)


def test_writes_outside_the_worktree_fail(tmp_path, docker_client):
    trace = _hostile(
        tmp_path,
        """
import os

import pytest


@pytest.mark.parametrize("path", ["/repo/../escape.txt", "/etc/escape.txt", "/escape.txt",
                                  "/home/escape.txt"])
def test_cannot_write(path):
    with pytest.raises(OSError):
        with open(path, "w") as f:
            f.write("x")


def test_not_root_and_no_caps():
    assert os.getuid() != 0
    status = open("/proc/self/status").read()
    assert "CapEff:\\t0000000000000000" in status
    assert "NoNewPrivs:\\t1" in status
""",
    )
    settings = _settings(tmp_path)
    res = run_qa(trace, settings=settings)
    assert res.verdict == "resolved", res.stdout
    assert len(res.fail_to_pass) == 5
    assert not any(p.name == "escape.txt" for p in tmp_path.rglob("escape.txt"))
    assert list(settings.work_dir.iterdir()) == []


def test_dotdot_patch_is_refused_before_anything_runs(tmp_path, docker_client):
    repo, commit = make_repo(tmp_path / "repo", BASE)
    patch = "--- a/../../evil.txt\n+++ b/../../evil.txt\n@@ -0,0 +1 @@\n+pwned\n"
    res = run_qa(make_trace(repo, commit, patch=patch), settings=_settings(tmp_path))
    assert res.verdict == "error" and res.error.kind == "patch_failed"
    assert "climbs out" in res.error.message and res.baseline is None
    assert not list(tmp_path.rglob("evil.txt"))


def test_cancel_stops_the_run(tmp_path, docker_client):
    trace = _hostile(tmp_path, "def test_sleep():\n    import time\n    time.sleep(120)\n")
    # The base run sleeps too: make it the slow one.
    trace.task.test_command = "sleep 120"
    cancel = threading.Event()
    timer = threading.Timer(2.0, cancel.set)
    timer.start()
    try:
        with pytest.raises(QACancelled):
            run_qa_report(trace, settings=_settings(tmp_path, timeout_s=120), cancel=cancel)
    finally:
        timer.cancel()
    _no_leftovers(docker_client, trace.trace_id)


HIJACK = """import os
import subprocess

# Runs at collection, in both runs: point the worktree's .git at a git
# directory the tests own, whose core.worktree is a directory on the host.
subprocess.run(["git", "init", "-q", "--bare", "/repo/evil.git"], check=True)
subprocess.run(["git", "--git-dir=/repo/evil.git", "config", "core.worktree",
                os.environ["VICTIM"]], check=True)
with open("/repo/.git", "w") as f:
    f.write("gitdir: evil.git\\n")
"""


def test_git_hijack_through_the_worktree_is_ignored(tmp_path, docker_client):
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "precious.txt").write_text("keep me\n")
    repo, commit = make_repo(tmp_path / "repo", {**BASE, "conftest.py": HIJACK})
    patch = "--- a/app.py\n+++ b/app.py\n@@ -1 +1,2 @@\n VALUE = 1\n+OTHER = 2\n"
    trace = make_trace(repo, commit, patch=patch, command=f"VICTIM={victim} python3 -m pytest -q")
    res = run_qa(trace, settings=_settings(tmp_path))
    # Had the worker's `git clean -fdx` followed the planted .git, precious.txt
    # would be gone, or the reset would have failed as an infrastructure error.
    assert (victim / "precious.txt").read_text() == "keep me\n"
    assert res.verdict == "not_resolved" and res.patch.applied, (res.error, res.stdout)
    assert res.passed == 1


def test_sweep_leftovers_after_a_crash(tmp_path, docker_client):
    from prtrace.qa.pipeline import sweep_leftovers

    settings = _settings(tmp_path)
    settings.work_dir.mkdir(parents=True)
    stale = settings.work_dir / "job-crashed"
    stale.mkdir()
    old = time.time() - 7200
    os.utime(stale, (old, old))
    fresh = settings.work_dir / "job-running"
    fresh.mkdir()
    left = docker_client.containers.create(
        "prtrace-test/python:bookworm", ["true"], labels={LABEL: "1", "prtrace.deadline": "0"}
    )
    counts = sweep_leftovers(settings, client=docker_client)
    assert counts["worktrees"] == 1 and counts["containers"] >= 1
    assert not stale.exists() and fresh.exists()
    assert left.id not in [c.id for c in docker_client.containers.list(all=True)]
