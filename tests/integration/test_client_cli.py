"""The client and the CLI end to end against a real ``prtrace serve`` on loopback.

Uses the ``prtrace_server`` fixture (tests/conftest.py): a private
PRTRACE_HOME, a known API token, QA on finalize off. CLI commands run as real
subprocesses of the installed console script, with the environment a user
would have (PRTRACE_URL, PRTRACE_API_TOKEN).
"""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import pytest

from prtrace.client import AsyncClient, Client
from prtrace.demo.server import prtrace_command
from prtrace.errors import AuthError, ConflictError, InvalidRequest, NotFoundError
from prtrace.events import TerminalCommand, Thought
from prtrace.trace import Artifacts, Developer, Task, Trace

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
PATCH = "diff --git a/a.py b/a.py\n--- a/a.py\n+++ b/a.py\n@@ -1 +1 @@\n-x = 1\n+x = 2\n"


def events(start: int, count: int) -> list[Any]:
    """Alternating thoughts and terminal commands with ids ``e<start>``…"""
    out: list[Any] = []
    for i in range(start, start + count):
        t = T0 + timedelta(seconds=i)
        if i % 2:
            out.append(
                TerminalCommand(
                    id=f"e{i}", t=t, session_id="s1", cmd=f"echo {i}", exit_code=0, stdout=f"{i}\n"
                )
            )
        else:
            out.append(Thought(id=f"e{i}", t=t, session_id="s1", raw=f"thought {i}"))
    return out


def task(**overrides: Any) -> Task:
    return Task(**{"repository": "https://example.com/r.git", "commit": "abcdef12", **overrides})


@pytest.fixture
def api(prtrace_server):
    with Client(prtrace_server.url, prtrace_server.api_token) as client:
        yield client


# --- client ------------------------------------------------------------------------------


def test_health(api):
    health = api.health()
    assert health.status == "ok" and health.version


def test_trace_lifecycle_with_the_sync_client(api):
    created = api.create_trace(Developer(id="alice"), task(branch="main"))
    assert created.status == "open"
    assert created.trace_id.startswith("tr_") and created.upload_token.startswith("ptu_")
    upload = Client(api.base_url, created.upload_token)

    first = upload.upload_events(created.trace_id, 0, events(0, 5))
    assert (first.accepted, first.duplicate) == (5, False)
    again = upload.upload_events(created.trace_id, 0, events(0, 5))
    assert again.duplicate is True
    with pytest.raises(ConflictError) as conflict:
        upload.upload_events(created.trace_id, 0, events(100, 2))
    assert conflict.value.status_code == 409 and not conflict.value.retryable
    upload.upload_events(created.trace_id, 1, events(5, 5))

    page = api.list_events(created.trace_id, type="thought", limit=2)
    assert [e.id for e in page.events] == ["e0", "e2"]
    assert page.next_after == "e2"
    assert [e.id for e in api.iter_events(created.trace_id, page_size=3)] == [
        f"e{i}" for i in range(10)
    ]

    sealed = upload.finalize(created.trace_id, Artifacts(final_patch=PATCH))
    assert (sealed.status, sealed.events) == ("sealed", 10)
    assert upload.finalize(created.trace_id, Artifacts(final_patch=PATCH)).status == "sealed"
    with pytest.raises(ConflictError) as late:
        upload.upload_events(created.trace_id, 2, events(20, 1))
    assert late.value.status_code == 409

    trace = api.get_trace(created.trace_id)
    assert isinstance(trace, Trace)
    assert (trace.status, trace.task.branch) == ("sealed", "main")
    assert trace.artifacts.final_patch == PATCH
    assert [e.id for e in trace.events] == [f"e{i}" for i in range(10)]
    assert trace.events[1].stdout == "1\n"
    upload.close()


def test_list_iterate_and_export(api):
    ids = []
    for n in range(5):
        created = api.create_trace(Developer(id=f"dev{n % 2}"), task(commit=f"abcdef{n:02d}"))
        api.upload_events(created.trace_id, 0, events(0, 2))
        if n < 3:
            api.finalize(created.trace_id)
        ids.append(created.trace_id)

    page = api.list_traces(limit=2)
    assert [s.trace_id for s in page.traces] == ids[::-1][:2]
    assert page.next_cursor
    assert [s.trace_id for s in api.iter_traces(limit=2)] == ids[::-1]
    assert [s.trace_id for s in api.iter_traces(status="sealed", developer="dev0")] == [
        ids[2],
        ids[0],
    ]

    lines = list(api.export(status="sealed"))
    documents = [msgspec.json.decode(line, type=Trace) for line in lines]
    assert [d.trace_id for d in documents] == ids[:3]
    assert all(len(d.events) == 2 for d in documents)


def test_qa_job_is_queued_and_readable(api):
    created = api.create_trace(Developer(id="alice"), task())
    api.finalize(created.trace_id, Artifacts(final_patch=PATCH))
    job = api.request_qa(created.trace_id)
    assert job.status == "queued" and job.job_id
    status = api.get_job(job.job_id)
    assert (status.job_id, status.trace_id) == (job.job_id, created.trace_id)
    assert status.status in ("queued", "running", "done", "error")


def test_errors_carry_the_servers_status_detail_and_field(api, prtrace_server):
    with pytest.raises(NotFoundError) as missing:
        api.get_trace("tr_does_not_exist")
    assert missing.value.status_code == 404 and missing.value.detail

    created = api.create_trace(Developer(id="alice"), task())
    bad = [
        msgspec.to_builtins(events(0, 1)[0]),
        {"type": "thought", "id": "x", "t": "noon", "session_id": "s", "raw": "r"},
    ]
    with pytest.raises(InvalidRequest) as invalid:
        api.upload_events(created.trace_id, 0, bad)
    assert invalid.value.status_code == 422
    assert invalid.value.field == "events[1].t"
    assert str(invalid.value).startswith("events[1].t: ")

    with Client(prtrace_server.url, "pta_wrong") as stranger, pytest.raises(AuthError) as denied:
        stranger.list_traces()
    assert denied.value.status_code in (401, 403)

    with Client(prtrace_server.url, created.upload_token) as uploader:
        with pytest.raises(AuthError) as forbidden:
            uploader.get_trace(created.trace_id)
    assert forbidden.value.status_code == 403


async def test_async_client_round_trip(prtrace_server):
    async with AsyncClient(prtrace_server.url, prtrace_server.api_token) as api:
        assert (await api.health()).status == "ok"
        created = await api.create_trace(Developer(id="bob"), task())
        accepted = await api.upload_events(
            created.trace_id, 0, events(0, 3), token=created.upload_token
        )
        assert accepted.accepted == 3
        await api.finalize(created.trace_id, token=created.upload_token)
        trace = await api.get_trace(created.trace_id)
        assert trace.status == "sealed" and len(trace.events) == 3
        assert [s.trace_id async for s in api.iter_traces(limit=1)] == [created.trace_id]
        lines = [line async for line in api.export()]
        assert json.loads(lines[0])["trace_id"] == created.trace_id
        with pytest.raises(NotFoundError) as missing:
            await api.get_job("job_nope")
        assert missing.value.status_code == 404


# --- CLI ------------------------------------------------------------------------------------


def prtrace(
    server, *argv: str, stdin: str | None = None, env: dict[str, str] | None = None, cwd=None
) -> subprocess.CompletedProcess[str]:
    """Run the real ``prtrace`` console script as a user configured for ``server``."""
    environment = server.environment()
    environment.update(env or {})
    return subprocess.run(
        [*prtrace_command(), *argv],
        input=stdin,
        capture_output=True,
        text=True,
        env=environment,
        cwd=cwd,
        timeout=60,
    )


def test_cli_create_list_show_finalize_qa(prtrace_server, tmp_path):
    created = prtrace(
        prtrace_server,
        "trace",
        "create",
        "--repository",
        "https://e.com/r.git",
        "--commit",
        "1234abcd",
        "--developer",
        "carol",
        "--title",
        "Fix the bug",
        "--test-command",
        "pytest -q",
        "--json",
        cwd=tmp_path,
    )
    assert created.returncode == 0, created.stderr
    answer = json.loads(created.stdout)
    trace_id, token = answer["trace_id"], answer["upload_token"]
    assert token.startswith("ptu_")

    with Client(prtrace_server.url, token) as upload:
        upload.upload_events(trace_id, 0, events(0, 4))

    table = prtrace(prtrace_server, "trace", "list")
    assert table.returncode == 0, table.stderr
    header, row = table.stdout.splitlines()[:2]
    assert header.split()[:3] == ["TRACE", "CREATED", "STATUS"]
    assert row.split()[0] == trace_id and "carol" in row and "open" in row

    listed = json.loads(
        prtrace(prtrace_server, "trace", "list", "--developer", "carol", "--json").stdout
    )
    assert [t["trace_id"] for t in listed["traces"]] == [trace_id]
    nobody = json.loads(
        prtrace(prtrace_server, "trace", "list", "--developer", "zed", "--json").stdout
    )
    assert nobody == {"traces": []}

    opened = json.loads(prtrace(prtrace_server, "trace", "show", trace_id, "--json").stdout)
    assert (opened["version"], opened["status"]) == ("prtrace-2.0.0", "open")
    with Client(prtrace_server.url, prtrace_server.api_token) as api:
        assert json.loads(bytes(api.get_trace_raw(trace_id))) == opened

    shown = prtrace(prtrace_server, "trace", "show", trace_id, "--events", "2")
    assert shown.returncode == 0, shown.stderr
    assert f"{trace_id}  [open]" in shown.stdout
    assert "Fix the bug" in shown.stdout and "events      4" in shown.stdout
    assert "2 more" in shown.stdout

    final = prtrace(
        prtrace_server,
        "trace",
        "finalize",
        trace_id,
        "--patch",
        "-",
        "--token",
        token,
        "--json",
        stdin=PATCH,
    )
    assert final.returncode == 0, final.stderr
    assert json.loads(final.stdout)["status"] == "sealed"

    document = json.loads(prtrace(prtrace_server, "trace", "show", trace_id, "--json").stdout)
    assert (document["version"], document["status"]) == ("prtrace-2.0.0", "sealed")
    assert document["artifacts"]["final_patch"] == PATCH
    assert [e["id"] for e in document["events"]] == ["e0", "e1", "e2", "e3"]
    assert document["task"]["title"] == "Fix the bug"

    qa = prtrace(prtrace_server, "trace", "qa", trace_id, "--json")
    assert qa.returncode == 0, qa.stderr
    assert json.loads(qa.stdout)["status"] == "queued"


def test_cli_create_defaults_from_git(prtrace_server, tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    git_env = {"GIT_CONFIG_GLOBAL": str(tmp_path / "gitconfig"), "GIT_CONFIG_NOSYSTEM": "1"}
    for argv in (
        ["init", "-q", "-b", "topic"],
        ["config", "user.email", "dan@example.com"],
        ["commit", "-q", "--allow-empty", "-m", "start"],
    ):
        subprocess.run(
            ["git", *argv], cwd=repo, check=True, env={**prtrace_server.environment(), **git_env}
        )
    created = prtrace(prtrace_server, "trace", "create", "--json", cwd=repo, env=git_env)
    assert created.returncode == 0, created.stderr
    trace_id = json.loads(created.stdout)["trace_id"]
    with Client(prtrace_server.url, prtrace_server.api_token) as api:
        trace = api.get_trace(trace_id)
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True, check=True
    ).stdout.strip()
    assert (trace.task.commit, trace.task.branch) == (head, "topic")
    assert trace.developer.id == "dan@example.com"


def test_cli_export_to_stdout_and_file(prtrace_server, tmp_path):
    with Client(prtrace_server.url, prtrace_server.api_token) as api:
        ids = []
        for n in range(3):
            created = api.create_trace(Developer(id="erin"), task())
            api.upload_events(created.trace_id, 0, events(0, 3))
            api.finalize(created.trace_id)
            ids.append(created.trace_id)

    out = prtrace(prtrace_server, "trace", "export", "--developer", "erin")
    assert out.returncode == 0, out.stderr
    assert [json.loads(line)["trace_id"] for line in out.stdout.splitlines()] == ids
    assert out.stderr.strip() == "exported 3 traces to stdout"

    target = tmp_path / "traces.jsonl"
    out = prtrace(prtrace_server, "trace", "export", "--status", "open", "-o", str(target))
    assert out.returncode == 0, out.stderr
    assert target.read_text() == "" and out.stderr.strip() == f"exported 0 traces to {target}"
    out = prtrace(prtrace_server, "trace", "export", "-o", str(target))
    assert len(target.read_text().splitlines()) == 3
    assert not (tmp_path / "traces.jsonl.partial").exists()


def test_cli_reports_server_errors(prtrace_server):
    missing = prtrace(prtrace_server, "trace", "show", "tr_nope")
    assert missing.returncode == 1
    assert missing.stderr.startswith("prtrace: ") and "(HTTP 404)" in missing.stderr
    assert missing.stdout == ""

    denied = prtrace(prtrace_server, "trace", "list", "--token", "pta_not_the_token")
    assert denied.returncode == 1
    assert denied.stderr.startswith("prtrace: ")
    assert "HTTP 40" in denied.stderr


def test_cli_worker_claims_jobs_the_api_queued(tmp_path):
    """``prtrace worker`` on the server's database picks up a job ``prtrace serve`` (with no
    embedded workers) left queued."""
    import os
    import signal
    import time

    from prtrace.demo.server import ServerProcess

    server = ServerProcess(
        tmp_path / "home", env={"PRTRACE_WORKERS": "0", "PRTRACE_QA_ON_FINALIZE": "false"}
    )
    server.start()
    worker = None
    try:
        with Client(server.url, server.api_token) as api:
            created = api.create_trace(Developer(id="alice"), task())
            api.finalize(created.trace_id, Artifacts(final_patch=PATCH))
            job = api.request_qa(created.trace_id)
            assert api.get_job(job.job_id).status == "queued"
            log = (tmp_path / "worker.log").open("wb")
            worker = subprocess.Popen(
                [*prtrace_command(), "worker", "--concurrency", "1"],
                env=server.environment(),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            deadline = time.monotonic() + 60
            status = api.get_job(job.job_id)
            while status.status == "queued" and time.monotonic() < deadline:
                assert worker.poll() is None, (tmp_path / "worker.log").read_text()
                time.sleep(0.2)
                status = api.get_job(job.job_id)
            assert status.status != "queued", (tmp_path / "worker.log").read_text()
            assert status.attempts >= 1
    finally:
        if worker is not None and worker.poll() is None:
            os.killpg(worker.pid, signal.SIGTERM)
            try:
                worker.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(worker.pid, signal.SIGKILL)
                worker.wait()
        server.stop()


def test_cli_export_into_a_reader_that_leaves_early(prtrace_server):
    """``prtrace trace export | head -1``: the closed pipe is no error and no traceback."""
    with Client(prtrace_server.url, prtrace_server.api_token) as api:
        for _ in range(3):
            created = api.create_trace(Developer(id="fay"), task())
            big = [Thought(id=f"e{i}", t=T0, session_id="s", raw="x" * 100_000) for i in range(3)]
            api.upload_events(created.trace_id, 0, big)
            api.finalize(created.trace_id)
    process = subprocess.Popen(
        [*prtrace_command(), "trace", "export"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=prtrace_server.environment(),
    )
    first = process.stdout.readline()
    process.stdout.close()
    stderr = process.stderr.read().decode()
    assert process.wait(60) == 0, stderr
    assert json.loads(first)["developer"]["id"] == "fay"
    assert "Traceback" not in stderr
