"""``prtrace demo`` end to end: a real server, the session captured by the real recorder
(record start/stop, prtrace run, notes, pylsp behind prtrace lsp), a real read-back."""

from __future__ import annotations

import os
import re
import signal
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import httpx
import msgspec
import pytest

from prtrace.cli.demo import RECORDED_KINDS
from prtrace.demo import FAIL_TO_PASS, make_sample_repo, recorded_session
from prtrace.demo.sample import FIX_MESSAGE
from prtrace.demo.server import prtrace_command
from prtrace.trace import Trace


def _demo(*args: str, **extra_env: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PRTRACE_")} | extra_env
    return subprocess.run(
        [*prtrace_command(), "demo", *args],
        capture_output=True,
        text=True,
        env=env,
        stdin=subprocess.DEVNULL,
        timeout=900,
    )


def _expected(tmp_path: Path) -> tuple[list, str]:
    repo, commit = make_sample_repo(tmp_path / "expected")
    return recorded_session(
        repo, commit, session_id="ses_x", start=datetime(2024, 1, 1, tzinfo=UTC)
    )


def test_demo_records_the_session_for_real_and_verifies_it_in_docker(
    docker_client, tmp_path: Path
) -> None:
    """The whole pipeline in one run (each run of the demo costs minutes): the real
    recorder captures the session, the server's QA worker applies the final patch in a
    container and finds the sample's failing test fixed, and everything is cleaned up."""
    out = tmp_path / "trace.json"
    result = _demo("--json", "--out", str(out))  # QA is on by default
    assert result.returncode == 0, result.stderr
    trace = msgspec.json.decode(result.stdout, type=Trace)
    assert trace.status == "sealed"
    assert msgspec.json.decode(out.read_bytes(), type=Trace) == trace
    _assert_recorded_for_real(trace, tmp_path)
    _assert_resolved(trace, result.stderr)

    assert "prtrace lsp -- pylsp: initialized" in result.stderr
    assert "prtrace record stop: sealed" in result.stderr
    # Cleaned up: the server is gone and so is its home.
    home = Path(re.search(r"\(home (\S+)\)", result.stderr).group(1))
    url = re.search(r"prtrace serve on (\S+)", result.stderr).group(1)
    assert not home.exists()
    with pytest.raises(httpx.TransportError):
        httpx.get(url + "/healthz", timeout=5)


def _assert_recorded_for_real(trace: Trace, tmp_path: Path) -> None:
    # Same steps and edits as the scripted session, so the same final patch.
    _, patch = _expected(tmp_path)
    assert trace.artifacts.final_patch == patch
    assert trace.task.fail_to_pass == FAIL_TO_PASS
    by_kind: dict[str, list] = {}
    for event in trace.events:
        by_kind.setdefault(type(event).__struct_config__.tag, []).append(event)
    assert set(RECORDED_KINDS) <= set(by_kind), sorted(by_kind)
    # pylsp's own answers, recorded by the proxy
    assert [(e.path, e.symbol, e.targets[0].path) for e in by_kind["go_to_definition"]] == [
        ("inventory/report.py", "format_cents", "inventory/models.py"),
        ("inventory/parsing.py", "parse_price", "inventory/parsing.py"),
    ]
    (refs,) = by_kind["find_references"]
    assert refs.symbol == "unit_price_cents" and "inventory/parsing.py" in refs.files
    assert {e.path for e in by_kind["file_opened"]} >= {
        "tests/test_report.py",
        "inventory/report.py",
        "inventory/models.py",
        "inventory/parsing.py",
    }
    # prtrace run: failing tests, the float check, the failed attempt, the fix, the commit
    assert [e.exit_code for e in by_kind["terminal_command"]] == [1, 0, 1, 0, 0]
    assert [e.tags for e in by_kind["thought"]][2] == ["root-cause"]
    (commit,) = by_kind["commit_made"]
    assert commit.message == FIX_MESSAGE
    # the edits chain from the opened text to the saved fix
    edits = by_kind["edit"]
    assert all(a.after_hash == b.before_hash for a, b in zip(edits, edits[1:], strict=False))
    assert edits[-1].after_hash == by_kind["file_saved"][-1].hash


def _assert_resolved(trace: Trace, stderr: str) -> None:
    assert trace.qa.status == "done", stderr
    tests = trace.qa.tests
    assert tests is not None and tests.patch is not None and tests.patch.applied
    assert tests.verdict == "resolved", tests
    assert tests.fail_to_pass == FAIL_TO_PASS
    assert tests.baseline is not None and tests.baseline.failed == len(FAIL_TO_PASS)


def test_demo_text_summary_and_keep_leave_a_server_to_explore() -> None:
    """The default text summary, and ``--keep``: the server stays up with the trace."""
    result = _demo("--no-qa", "--keep")
    assert result.returncode == 0, result.stderr
    kept = re.search(r"kept: server pid (\d+) at (\S+), home (\S+)", result.stderr)
    assert kept, result.stderr
    pid, url, home = int(kept.group(1)), kept.group(2), Path(kept.group(3))
    try:
        assert "events by type" in result.stdout
        assert re.search(r"^  edit\s+\d+$", result.stdout, re.M)
        assert re.search(r"^  go_to_definition\s+2$", result.stdout, re.M)
        assert "[root-cause]" in result.stdout
        assert "+from decimal import ROUND_HALF_UP, Decimal, InvalidOperation" in result.stdout
        written = Path(re.search(r"trace JSON written to (\S+)", result.stderr).group(1))
        trace = msgspec.json.decode(written.read_bytes(), type=Trace)
        written.unlink()
        assert trace.status == "sealed"

        token = re.search(r"PRTRACE_API_TOKEN=(\S+)", result.stderr).group(1)
        answer = httpx.get(
            f"{url}/traces/{trace.trace_id}", headers={"Authorization": f"Bearer {token}"}
        )
        assert answer.status_code == 200
        assert msgspec.json.decode(answer.content, type=Trace).events == trace.events
        assert (home / "sample-repo" / "inventory" / "parsing.py").is_file()
    finally:
        os.killpg(pid, signal.SIGKILL)
        subprocess.run(["rm", "-rf", str(home)], check=False)


def test_demo_without_a_docker_engine_says_what_is_missing(tmp_path: Path) -> None:
    result = _demo(DOCKER_HOST=f"unix://{tmp_path}/no-engine.sock")
    assert result.returncode == 1
    assert "QA needs a Docker engine and none answers" in result.stderr
    assert "scripts/docker-up.sh" in result.stderr and "--no-qa" in result.stderr
    assert "starting prtrace serve" not in result.stderr  # it stops before doing anything
