"""``prtrace record start|status|stop`` with the background daemon against a real
``prtrace serve``: file and git activity recorded, a ``kill -9`` of the daemon and a
restart lose and repeat nothing, and the final patch applies at the task's commit."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path

import pytest

from prtrace.client import Client
from prtrace.recorder.session import daemon
from tests.support.lsp_support import proxy_env, prtrace_cmd
from tests.support.terminal_support import spooled, wait_for

GIT_ID = ["-c", "user.email=dev@example.com", "-c", "user.name=Dev"]


def _git(ws: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *GIT_ID, *args], cwd=ws, check=True, capture_output=True, text=True
    ).stdout


def _cli(ws: Path, server, *args: str) -> subprocess.CompletedProcess:
    env = proxy_env(ws, PRTRACE_URL=server.url, PRTRACE_API_TOKEN=server.api_token)
    return subprocess.run(
        [*prtrace_cmd(), *args],
        env=env,
        cwd=ws,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def _json(done: subprocess.CompletedProcess) -> dict:
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    ws = tmp_path / "repo"
    ws.mkdir()
    (ws / ".gitignore").write_text("*.log\n")
    (ws / "calc.py").write_text("def add(a, b):\n    return a - b\n")
    (ws / "data.bin").write_bytes(bytes(range(256)))
    _git(ws, "init", "-q", "-b", "main")
    _git(ws, "add", "-A")
    _git(ws, "commit", "-qm", "initial")
    return ws


@pytest.fixture
def stop_daemons():
    roots: list[Path] = []
    yield roots.append
    for root in roots:  # never leave a daemon running after a test
        daemon.stop(root, timeout=10)


def _trace(server, trace_id: str):
    with Client(server.url, server.api_token) as api:
        return api.get_trace(trace_id)


def test_stop_gives_a_final_patch_that_applies_at_the_commit(
    repo: Path, tmp_path: Path, prtrace_server, stop_daemons
) -> None:
    stop_daemons(repo)
    commit = _git(repo, "rev-parse", "HEAD").strip()
    started = _json(_cli(repo, prtrace_server, "record", "start", "--task", "BUG-1", "--json"))
    assert started["commit"] == commit and started["daemon_pid"] > 0
    status = _json(_cli(repo, prtrace_server, "record", "status", "--json"))
    assert status["daemon"]["alive"] is True and status["backend"]["reachable"] is True

    (repo / "calc.py").write_text("def add(a, b):\n    return a + b\n")
    (repo / "test_calc.py").write_text(
        "from calc import add\n\ndef test_add():\n    assert add(2, 2) == 4\n"
    )
    (repo / "debug.log").write_text("ignored\n")
    (repo / "data.bin").write_bytes(bytes(range(255, -1, -1)))
    _git(repo, "add", "calc.py")  # the developer's own staging must survive stop
    staged_before = _git(repo, "diff", "--cached", "--name-only")
    wait_for(
        lambda: len([e for e in spooled(repo) if e.get("source") == "fs"]) >= 3,
        what="the daemon's file events",
    )

    stopped = _json(_cli(repo, prtrace_server, "record", "stop", "--json"))
    assert stopped["status"] == "sealed"
    assert stopped["url"].endswith(f"/trace/{started['trace_id']}")
    assert daemon.alive(repo) is None
    assert _git(repo, "diff", "--cached", "--name-only") == staged_before

    trace = _trace(prtrace_server, started["trace_id"])
    patch = trace.artifacts.final_patch
    assert "debug.log" not in patch and "GIT binary patch" in patch
    fs = sorted((type(e).__name__, e.path) for e in trace.events if e.source == "fs")
    assert fs == [
        ("FileChanged", "calc.py"),
        ("FileChanged", "data.bin"),
        ("FileCreated", "test_calc.py"),
    ]

    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(repo), str(clone)], check=True)
    _git(clone, "checkout", "-q", commit)
    (clone / "final.patch").write_text(patch)
    subprocess.run(["git", "apply", "--check", "final.patch"], cwd=clone, check=True)
    subprocess.run(["git", "apply", "final.patch"], cwd=clone, check=True)
    for name in ("calc.py", "test_calc.py", "data.bin"):
        assert (clone / name).read_bytes() == (repo / name).read_bytes()
    assert not (clone / "debug.log").exists()


def test_git_activity_and_commands(repo: Path, prtrace_server, stop_daemons) -> None:
    stop_daemons(repo)
    started = _json(_cli(repo, prtrace_server, "record", "start", "--json"))
    (repo / "calc.py").write_text("def add(a, b):\n    return a + b\n")
    wait_for(lambda: spooled(repo, "file_changed"), what="the fix")  # else debounced away
    _git(repo, "checkout", "-q", "-b", "fix/add")
    _git(repo, "commit", "-qam", "Fix add\n\nIt subtracted.")
    _git(repo, "checkout", "-q", "main")  # the file goes back: recorded once
    done = _cli(repo, prtrace_server, "run", "--", "git", "push", "origin", "fix/add")
    assert done.returncode != 0  # no remote: the failure is passed through and recorded
    wait_for(lambda: spooled(repo, "branch_switched")[1:], what="two branch switches")
    wait_for(
        lambda: [e for e in spooled(repo, "file_changed") if e["path"] == "calc.py"][1:],
        what="calc.py changed and changed back",
    )
    _json(_cli(repo, prtrace_server, "record", "stop", "--json"))
    events = _trace(prtrace_server, started["trace_id"]).events
    by = lambda name: [e for e in events if type(e).__name__ == name]  # noqa: E731
    (commit,) = by("CommitMade")
    assert commit.message == "Fix add\n\nIt subtracted." and commit.files == ["calc.py"]
    assert commit.branch == "fix/add" and commit.hash == _git(repo, "rev-parse", "fix/add").strip()
    assert [(b.from_branch, b.to_branch) for b in by("BranchSwitched")] == [
        ("main", "fix/add"),
        ("fix/add", "main"),
    ]
    assert len([e for e in by("FileChanged") if e.path == "calc.py"]) == 2
    (push,) = by("PushRemote")
    assert (push.remote, push.branch) == ("origin", "fix/add") and push.exit_code != 0
    (run,) = by("TerminalCommand")
    assert run.source == "run" and run.output_merged is False and "origin" in run.stderr


def test_kill_9_of_the_daemon_then_start_loses_and_repeats_nothing(
    repo: Path, prtrace_server, stop_daemons
) -> None:
    stop_daemons(repo)
    started = _json(_cli(repo, prtrace_server, "record", "start", "--json"))
    for i in range(20):
        (repo / f"f{i}.txt").write_text(f"{i}\n")
    wait_for(lambda: len(spooled(repo, "file_created")) >= 20, what="20 files")
    pid = daemon.alive(repo)
    assert pid and pid > 0
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: daemon.alive(repo) is None, what="the daemon to die")
    status = _json(_cli(repo, prtrace_server, "record", "status", "--json"))
    assert status["daemon"]["alive"] is False and status["recording"] is True

    resumed = _json(_cli(repo, prtrace_server, "record", "start", "--json"))
    assert resumed["resumed"] is True and resumed["trace_id"] == started["trace_id"]
    again = _cli(repo, prtrace_server, "record", "start")
    assert again.returncode != 0 and "already recording" in again.stderr
    for i in range(20, 30):
        (repo / f"f{i}.txt").write_text(f"{i}\n")
    wait_for(lambda: len(spooled(repo, "file_created")) >= 30, what="10 more files")
    _json(_cli(repo, prtrace_server, "record", "stop", "--json"))

    spool_ids = [e["id"] for e in spooled(repo)]
    trace = _trace(prtrace_server, started["trace_id"])
    assert [e.id for e in trace.events] == spool_ids  # every spooled event, once, in order
    created = sorted(e.path for e in trace.events if type(e).__name__ == "FileCreated")
    assert created == sorted(f"f{i}.txt" for i in range(30))


def test_hooked_bash_commands_reach_the_trace_through_the_daemon(
    repo: Path, prtrace_server, stop_daemons, tmp_path: Path
) -> None:
    """The rc hook in a plain bash (not ``prtrace shell``) sends each command to the
    session's daemon over loopback; ``record stop`` uploads them; nothing is on disk."""
    stop_daemons(repo)
    started = _json(_cli(repo, prtrace_server, "record", "start", "--json"))
    wait_for(
        lambda: (repo / ".prtrace" / "hook" / "endpoint").exists(), what="the daemon's endpoint"
    )
    rc = tmp_path / "bashrc"
    rc.write_text(_cli(repo, prtrace_server, "hook", "bash").stdout)
    env = proxy_env(
        repo, PRTRACE_URL=prtrace_server.url, PRTRACE_API_TOKEN=prtrace_server.api_token
    )
    subprocess.run(
        ["bash", "--rcfile", str(rc), "-i"],
        input="ls calc.py\nfalse\n",
        cwd=repo,
        env=env,
        text=True,
        capture_output=True,
        timeout=60,
        check=False,
    )
    wait_for(lambda: spooled(repo, "terminal_command")[1:], what="two hooked commands spooled")
    assert list((repo / ".prtrace" / "hook").glob("*.log")) == []
    _json(_cli(repo, prtrace_server, "record", "stop", "--json"))
    commands = [
        e
        for e in _trace(prtrace_server, started["trace_id"]).events
        if type(e).__name__ == "TerminalCommand"
    ]
    assert [(c.cmd, c.exit_code, c.source) for c in commands] == [
        ("ls calc.py", 0, "hook"),
        ("false", 1, "hook"),
    ]
