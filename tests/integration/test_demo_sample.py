"""The bundled sample repository and its recorded session are real.

The session must be a valid trace, its hashes must chain, its edit patches
must replay to the final files byte for byte, its final patch must apply with
git at the base commit, and the sample's own tests must fail before the fix
and pass after it, as the recorded terminal output says.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import msgspec
import pytest

from prtrace import events as ev
from prtrace.api_types import EventBatch
from prtrace.demo import FAIL_TO_PASS, make_sample_repo, recorded_session
from prtrace.hashing import text_hash
from prtrace.patches import apply_patch

START = datetime(2024, 2, 1, 10, 0, tzinfo=UTC)


class Sample(msgspec.Struct):
    repo: Path
    commit: str
    events: list[ev.Event]
    patch: str


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Sample:
    repo, commit = make_sample_repo(tmp_path_factory.mktemp("sample") / "inventory")
    events, patch = recorded_session(repo, commit, session_id="ses_demo", start=START)
    return Sample(repo, commit, events, patch)


def _git(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True)


def _pytest(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The sample's test-suite, in a child interpreter, as QA would run it."""
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def _failed(output: str) -> set[str]:
    return set(re.findall(r"^FAILED (\S+)", output, re.M))


def _counts(output: str) -> str:
    """``1 failed, 11 passed`` from pytest's closing line, without the time."""
    last = [line for line in output.splitlines() if " in " in line and "passed" in line][-1]
    return last.strip("= ").rsplit(" in ", 1)[0]


def _replay(sample: Sample) -> dict[str, str]:
    """Apply every edit in order to the opened texts; check hashes on the way."""
    texts: dict[str, str] = {}
    for event in sample.events:
        if isinstance(event, ev.FileOpened):
            texts[event.path] = (sample.repo / event.path).read_text(encoding="utf-8")
            assert event.hash == text_hash(texts[event.path])
        elif isinstance(event, ev.Edit):
            assert text_hash(texts[event.path]) == event.before_hash, event.id
            texts[event.path] = apply_patch(texts[event.path], event.patch_unified)
            assert text_hash(texts[event.path]) == event.after_hash, event.id
    return texts


def _fresh_repo(tmp_path: Path) -> tuple[Path, str]:
    return make_sample_repo(tmp_path / "repo")


# --- the repository ----------------------------------------------------------------


def test_sample_repo_commit_is_the_same_every_time(tmp_path: Path, sample: Sample) -> None:
    repo, commit = make_sample_repo(tmp_path / "again")
    assert commit == sample.commit
    assert re.fullmatch(r"[0-9a-f]{40}", commit)
    assert _git(repo, "status", "--porcelain").stdout == ""
    tracked = _git(repo, "ls-files").stdout.split()
    assert "inventory/parsing.py" in tracked and "tests/test_report.py" in tracked
    assert not [path for path in tracked if "__pycache__" in path or path.endswith(".pyc")]


# --- the session is a valid trace ----------------------------------------------------


def test_session_validates_against_the_trace_format(sample: Sample) -> None:
    wire = msgspec.json.encode(sample.events)
    decoded = msgspec.json.decode(wire, type=list[ev.Event])
    assert decoded == sample.events
    assert msgspec.convert(msgspec.to_builtins(sample.events), list[ev.Event]) == sample.events
    # And as the body of an upload.
    msgspec.json.decode(msgspec.json.encode({"seq": 0, "events": sample.events}), type=EventBatch)


def test_session_ids_are_unique_and_times_increase(sample: Sample) -> None:
    ids = [event.id for event in sample.events]
    assert len(set(ids)) == len(ids)
    times = [event.t for event in sample.events]
    assert all(a < b for a, b in zip(times, times[1:]))
    assert times[0] == START
    assert {event.session_id for event in sample.events} == {"ses_demo"}


def test_session_has_every_kind_of_step(sample: Sample) -> None:
    kinds = Counter(type(event).__struct_config__.tag for event in sample.events)
    for kind in (
        "file_opened",
        "go_to_definition",
        "find_references",
        "diagnostics",
        "terminal_command",
        "thought",
        "file_saved",
        "commit_made",
    ):
        assert kinds[kind] >= 1, kind
    assert kinds["edit"] >= 3
    commands = [event for event in sample.events if isinstance(event, ev.TerminalCommand)]
    assert commands[0].exit_code == 1 and "pytest" in commands[0].cmd
    pytest_runs = [command for command in commands if "pytest" in command.cmd]
    assert pytest_runs[-1].exit_code == 0
    thoughts = [event for event in sample.events if isinstance(event, ev.Thought)]
    assert all(thought.raw and thought.tags for thought in thoughts)


def test_lsp_targets_point_at_the_real_code(sample: Sample) -> None:
    for event in sample.events:
        if isinstance(event, (ev.GoToDefinition, ev.FindReferences)):
            source = (sample.repo / event.path).read_text().splitlines()
            assert event.range is not None
            line = source[event.range.start.line]
            assert line[event.range.start.character : event.range.end.character] == event.symbol
            assert event.targets
            for target in event.targets:
                text = (sample.repo / target.path).read_text().splitlines()[target.line - 1]
                assert target.range is not None and target.range.start.line == target.line - 1
                span = text[target.range.start.character : target.range.end.character]
                assert span == event.symbol
            if isinstance(event, ev.GoToDefinition):
                for target in event.targets:
                    lines = (sample.repo / target.path).read_text().splitlines()
                    assert f"def {event.symbol}(" in lines[target.line - 1]
            else:
                assert event.count == len(event.targets)
                assert set(event.files) == {target.path for target in event.targets}


# --- hashes chain and edits replay ----------------------------------------------------


def test_hash_chain_holds(sample: Sample) -> None:
    current: dict[str, str] = {}
    for event in sample.events:
        if isinstance(event, ev.FileOpened):
            current[event.path] = event.hash
        elif isinstance(event, ev.Edit):
            assert event.before_hash == current[event.path], event.id
            assert event.after_hash != event.before_hash
            current[event.path] = event.after_hash
        elif isinstance(event, ev.FileSaved):
            assert event.hash == current[event.path], event.id


def test_failed_attempt_is_reverted(sample: Sample) -> None:
    """Some edit returns a file to a text it had before (the reverted try)."""
    seen: dict[str, set[str]] = {}
    reverted = False
    for event in sample.events:
        if isinstance(event, ev.FileOpened):
            seen[event.path] = {event.hash}
        elif isinstance(event, ev.Edit):
            reverted |= event.after_hash in seen[event.path]
            seen[event.path].add(event.after_hash)
    assert reverted


def test_replaying_edits_reproduces_the_final_files(sample: Sample, tmp_path: Path) -> None:
    replayed = _replay(sample)
    repo, _ = _fresh_repo(tmp_path)
    applied = subprocess.run(
        ["git", "-C", str(repo), "apply"], input=sample.patch, capture_output=True, text=True
    )
    assert applied.returncode == 0, applied.stderr
    for path, text in replayed.items():
        assert (repo / path).read_bytes() == text.encode("utf-8"), path
    changed = set(_git(repo, "diff", "--name-only").stdout.split())
    edited = {path for path, text in replayed.items() if text != (sample.repo / path).read_text()}
    assert changed == edited == {"inventory/parsing.py"}


# --- the final patch and the sample's tests ----------------------------------------------


def test_final_patch_applies_with_git_at_the_commit(sample: Sample, tmp_path: Path) -> None:
    repo, commit = _fresh_repo(tmp_path)
    assert commit == sample.commit
    (tmp_path / "fix.diff").write_text(sample.patch)
    check = _git(repo, "apply", "--check", str(tmp_path / "fix.diff"))
    assert check.returncode == 0, check.stderr
    assert sample.patch.startswith("diff --git a/inventory/parsing.py b/inventory/parsing.py")


def test_commit_made_names_the_files_of_the_patch(sample: Sample) -> None:
    commit = [event for event in sample.events if isinstance(event, ev.CommitMade)][-1]
    patched = set(re.findall(r"^\+\+\+ b/(\S+)", sample.patch, re.M))
    assert set(commit.files) == patched
    assert re.fullmatch(r"[0-9a-f]{40}", commit.hash) and commit.hash != sample.commit


def test_sample_tests_fail_before_and_pass_after_the_fix(sample: Sample, tmp_path: Path) -> None:
    repo, _ = _fresh_repo(tmp_path)
    before = _pytest(repo)
    assert before.returncode == 1, before.stdout + before.stderr
    assert _failed(before.stdout) == set(FAIL_TO_PASS)

    recorded = [e for e in sample.events if isinstance(e, ev.TerminalCommand) and "pytest" in e.cmd]
    assert _failed(recorded[0].stdout) == _failed(before.stdout)
    assert _counts(recorded[0].stdout) == _counts(before.stdout)

    (tmp_path / "fix.diff").write_text(sample.patch)
    assert _git(repo, "apply", str(tmp_path / "fix.diff")).returncode == 0
    after = _pytest(repo)
    assert after.returncode == 0, after.stdout + after.stderr
    assert _counts(recorded[-1].stdout) == _counts(after.stdout)


def test_the_failed_attempt_really_fails(sample: Sample, tmp_path: Path) -> None:
    """The recorded dead end is real: with only the first edit, the test still fails."""
    repo, _ = _fresh_repo(tmp_path)
    first = next(event for event in sample.events if isinstance(event, ev.Edit))
    target = repo / first.path
    target.write_text(apply_patch(target.read_text(), first.patch_unified))
    rerun = next(
        e
        for e in sample.events
        if isinstance(e, ev.TerminalCommand) and e.t > first.t and "pytest" in e.cmd
    )
    result = _pytest(repo, *rerun.args[4:])
    assert result.returncode == rerun.exit_code == 1
    assert _failed(result.stdout) == _failed(rerun.stdout) == set(FAIL_TO_PASS)
    assert _counts(result.stdout) == _counts(rerun.stdout)
