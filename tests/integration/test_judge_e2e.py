"""The judge through a real ``prtrace serve``: after QA, on re-judging, in the history, from the CLI.

The judge's endpoint is the scripted OpenAI-compatible server on loopback.
The task's repository does not exist, so QA's tests end at once in an
``infrastructure`` error with or without Docker — and the judge still runs
after them, which is the point: its step does not depend on the tests' outcome.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from prtrace.client import Client, PrtraceError
from prtrace.demo.server import ServerProcess, prtrace_command
from tests.support.judge_fake_llm import FakeLLM, Reply, answer, cited_ids
from tests.support.judge_support import small_trace


@pytest.fixture
def fake() -> Iterator[FakeLLM]:
    server = FakeLLM().start()
    yield server
    server.stop()


@pytest.fixture
def server(fake: FakeLLM, start_prtrace_server: Callable[..., ServerProcess]) -> ServerProcess:
    return start_prtrace_server(
        env={
            "PRTRACE_JUDGE_BASE_URL": fake.url,
            "PRTRACE_JUDGE_MODEL": "fake-judge",
            "PRTRACE_JUDGE_BACKOFF_SECONDS": "0",
            "PRTRACE_JUDGE_PRICES": "fake-judge=1/2",
        }
    )


def sealed_trace(server: ServerProcess) -> str:
    trace = small_trace()
    with Client(server.url, server.api_token) as api:
        created = api.create_trace(trace.developer, trace.task)
        api.upload_events(created.trace_id, 0, trace.events, token=created.upload_token)
        api.finalize(created.trace_id, token=created.upload_token)
    return created.trace_id


def document(server: ServerProcess, trace_id: str) -> dict[str, Any]:
    response = httpx.get(
        f"{server.url}/traces/{trace_id}", headers={"Authorization": f"Bearer {server.api_token}"}
    )
    response.raise_for_status()
    return response.json()


def wait_job(api: Client, job_id: str) -> None:
    job = api.wait_for_job(job_id, timeout=120, poll=0.1)
    assert job.status == "done", job.error


def test_qa_job_runs_the_judge_after_the_tests(server: ServerProcess, fake: FakeLLM) -> None:
    trace_id = sealed_trace(server)
    with Client(server.url, server.api_token) as api:
        wait_job(api, api.request_qa(trace_id).job_id)
    qa = document(server, trace_id)["qa"]
    assert qa["tests"]["verdict"] == "error"  # the repository does not exist
    judge = qa["judge"]
    assert judge["status"] == "done" and judge["model"] == "fake-judge"
    assert judge["overall"] == 4.0 and judge["grounded"] is True
    assert judge["usage"]["cost_usd"] == pytest.approx((1000 * 1 + 200 * 2) / 1e6)
    # The judge saw the tests' outcome, in its own block.
    user = fake.requests[0]["messages"][1]["content"]
    assert '"verdict":"error"' in user[user.index("<OUTCOME>") :]
    with Client(server.url, server.api_token) as api:
        history = api.list_judgements(trace_id).judgements
        assert [j.result.status for j in history] == ["done"]
        summary = next(s for s in api.iter_traces() if s.trace_id == trace_id)
        assert summary.overall == 4.0


def test_rejudge_with_another_model_keeps_history(server: ServerProcess, fake: FakeLLM) -> None:
    trace_id = sealed_trace(server)
    with Client(server.url, server.api_token) as api:
        wait_job(api, api.request_judge(trace_id).job_id)
        fake.default = lambda req: Reply(content=answer(cited_ids(req), 2))
        wait_job(api, api.request_judge(trace_id, model="second-judge", samples=2).job_id)
        history = api.list_judgements(trace_id).judgements
    assert [j.result.model for j in history] == ["second-judge", "fake-judge"]
    assert history[0].result.samples == 2 and history[0].result.overall == 2.0
    assert history[0].result.usage is not None and history[0].result.usage.cost_usd is None
    latest = document(server, trace_id)["qa"]["judge"]
    assert latest["model"] == "second-judge" and latest["overall"] == 2.0
    assert [r["model"] for r in fake.requests] == ["fake-judge", "second-judge", "second-judge"]
    # The same judgement again costs nothing: every sample comes from the cache.
    with Client(server.url, server.api_token) as api:
        wait_job(api, api.request_judge(trace_id, model="second-judge", samples=2).job_id)
    assert len(fake.requests) == 3
    again = document(server, trace_id)["qa"]["judge"]
    assert again["usage"]["cached_samples"] == 2 and again["overall"] == 2.0


def test_judge_request_errors(server: ServerProcess) -> None:
    trace_id = sealed_trace(server)
    with Client(server.url, server.api_token) as api:
        with pytest.raises(PrtraceError) as bad_rubric:
            api.request_judge(trace_id, rubric="no-such-rubric")
        assert bad_rubric.value.status_code == 422 and bad_rubric.value.field == "rubric"
        with pytest.raises(PrtraceError) as missing:
            api.request_judge("tr_missing")
        assert missing.value.status_code == 404
        with pytest.raises(PrtraceError) as history_missing:
            api.list_judgements("tr_missing")
        assert history_missing.value.status_code == 404
    headers = {"Authorization": f"Bearer {server.api_token}"}
    too_many = httpx.post(
        f"{server.url}/traces/{trace_id}/judge", json={"samples": 99}, headers=headers
    )
    assert too_many.status_code == 422 and too_many.json()["field"] == "samples"
    unknown = httpx.post(
        f"{server.url}/traces/{trace_id}/judge", json={"modle": "x"}, headers=headers
    )
    assert unknown.status_code == 422
    upload = httpx.post(
        f"{server.url}/traces/{trace_id}/judge", headers={"Authorization": "Bearer ptu_x"}
    )
    assert upload.status_code == 403


def test_cli_trace_judge_wait(server: ServerProcess, fake: FakeLLM) -> None:
    trace_id = sealed_trace(server)
    env = {**os.environ, "PRTRACE_URL": server.url, "PRTRACE_API_TOKEN": server.api_token}
    run = subprocess.run(
        [
            *prtrace_command(),
            "trace",
            "judge",
            trace_id,
            "--model",
            "cli-judge",
            "--wait",
            "--json",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    judge = json.loads(run.stdout)
    assert judge["status"] == "done" and judge["model"] == "cli-judge"
    text = subprocess.run(
        [*prtrace_command(), "trace", "judge", trace_id, "--model", "cli-judge", "--wait"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert text.returncode == 0, text.stderr
    assert "overall 4.0 (grounded; 1 sample(s))" in text.stdout
    assert "problem_understanding" in text.stdout and "1 cached sample(s)" in text.stdout


def test_no_model_configured_is_skipped(start_prtrace_server: Callable[..., ServerProcess]) -> None:
    server = start_prtrace_server()
    trace_id = sealed_trace(server)
    with Client(server.url, server.api_token) as api:
        wait_job(api, api.request_judge(trace_id).job_id)
        assert api.list_judgements(trace_id).judgements == []
    judge = document(server, trace_id)["qa"]["judge"]
    assert judge["status"] == "skipped" and "PRTRACE_JUDGE_MODEL" in judge["reason"]
    assert "scores" not in judge and "overall" not in judge
