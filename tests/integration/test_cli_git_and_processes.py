"""The CLI's parts that need a process or a socket: ``prtrace --help`` in a fresh
interpreter and as the console script, a backend nobody listens for, and the
defaults ``trace create`` takes from a real git repository (the rest of the CLI
without the backend is in tests/unit/test_cli_unit.py)."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import pytest

from prtrace.cli import main
from prtrace.cli import trace as trace_cmd


def parse(*argv: str) -> argparse.Namespace:
    return main.build_parser().parse_args(list(argv))


def test_help_imports_nothing_heavy():
    code = (
        "import sys\n"
        "from prtrace.cli.main import build_parser\n"
        "build_parser().format_help()\n"
        "heavy = [m for m in ('httpx', 'msgspec', 'prtrace.client') if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_console_script_help_runs():
    script = Path(sys.executable).with_name("prtrace")
    out = subprocess.run([str(script), "--help"], capture_output=True, text=True, check=True)
    for name in ("serve", "worker", "trace", "schema"):
        assert name in out.stdout


def test_unreachable_backend_from_the_command_line(capsys, tmp_path, monkeypatch):
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("PRTRACE_HOME", str(tmp_path))
    code = main.main(["--url", f"http://127.0.0.1:{port}", "trace", "qa", "tr_1"])
    assert code == 1
    assert capsys.readouterr().err.startswith(
        f"prtrace: cannot reach the prtrace backend at http://127.0.0.1:{port}: "
    )


# --- git defaults ------------------------------------------------------------------------------


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, text=True, check=True
    ).stdout.strip()


@pytest.fixture
def repo(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(tmp_path / "gitconfig"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    path = tmp_path / "repo"
    path.mkdir()
    git(path, "init", "-q", "-b", "fix-bug")
    git(path, "config", "user.email", "dev@example.com")
    git(path, "config", "user.name", "Dev Eloper")
    (path / "a.txt").write_text("a\n")
    git(path, "add", "a.txt")
    git(path, "commit", "-qm", "one")
    monkeypatch.chdir(path)
    return path


def test_create_defaults_come_from_git(repo):
    args = parse("trace", "create", "--title", "Fix it", "--test-command", "pytest -q")
    developer, task, environment = trace_cmd.create_request(args)
    assert task.repository == str(repo.resolve())
    assert task.commit == git(repo, "rev-parse", "HEAD")
    assert task.branch == "fix-bug"
    assert (task.title, task.test_command) == ("Fix it", "pytest -q")
    assert (developer.id, developer.email, developer.name) == (
        "dev@example.com",
        "dev@example.com",
        "Dev Eloper",
    )
    git(repo, "remote", "add", "origin", "https://example.com/r.git")
    _, task, _ = trace_cmd.create_request(args)
    assert task.repository == "https://example.com/r.git"


def test_flags_override_git(repo):
    args = parse(
        "trace",
        "create",
        "--repository",
        "R",
        "--commit",
        "1234567",
        "--developer",
        "bob",
        "--branch",
        "b",
    )
    developer, task, _ = trace_cmd.create_request(args)
    assert (task.repository, task.commit, task.branch, developer.id) == ("R", "1234567", "b", "bob")
    assert developer.email is None


def test_create_outside_git_needs_repository_and_commit(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))
    code = main.main(["--url", "http://127.0.0.1:9", "trace", "create", "--developer", "x"])
    assert code == 2
    assert capsys.readouterr().err == (
        "prtrace: --repository and --commit required: not inside a git repository with a commit\n"
    )
