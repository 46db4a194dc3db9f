"""Helpers for the QA tests: sample repositories made on the spot and traces on
them. The Docker engine fixture (``docker_client``) is in tests/e2e/conftest.py."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from prtrace.qa.checkout import git as qa_git
from prtrace.trace import Artifacts, Developer, Task, Trace

PY_IMAGE = "prtrace-test/python:bookworm"
GO_IMAGE = "prtrace-test/go:bookworm"


def git(repo: Path, *args: str) -> str:
    return qa_git(*args, cwd=repo).stdout.strip()


def make_repo(path: Path, files: dict[str, str]) -> tuple[Path, str]:
    """A git repository with one commit holding ``files``; returns (path, commit)."""
    path.mkdir(parents=True, exist_ok=True)
    git(path, "init", "-q", "-b", "main")
    for rel, text in files.items():
        (path / rel).parent.mkdir(parents=True, exist_ok=True)
        (path / rel).write_text(text)
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", "base")
    return path, git(path, "rev-parse", "HEAD")


def diff_of(repo: Path, changes: dict[str, str]) -> str:
    """The git-style patch that turns the repository's files into ``changes``."""
    for rel, text in changes.items():
        (repo / rel).parent.mkdir(parents=True, exist_ok=True)
        (repo / rel).write_text(text)
    git(repo, "add", "-A")
    patch = git(repo, "diff", "--cached", "HEAD") + "\n"
    git(repo, "reset", "-q", "--hard", "HEAD")
    return patch


def make_trace(
    repo: Path,
    commit: str,
    *,
    patch: str | None,
    command: str = "python3 -m pytest -q",
    image: str = PY_IMAGE,
    events: list | None = None,
    fail_to_pass: list[str] | None = None,
) -> Trace:
    return Trace(
        trace_id="t-" + commit[:8],
        created_at=datetime.now(UTC),
        developer=Developer(id="dev"),
        task=Task(
            repository=str(repo),
            commit=commit,
            test_image=image,
            test_command=command,
            fail_to_pass=fail_to_pass or [],
        ),
        events=events or [],
        artifacts=Artifacts(final_patch=patch),
    )
