"""The judge against a scripted OpenAI-compatible server on loopback, through the real openai client."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from prtrace.qa.judge import JudgeSettings, judge_trace
from prtrace.qa.judge.cache import DirCache
from prtrace.trace import JudgeResult
from tests.support.judge_fake_llm import DIMENSIONS, FakeLLM, Reply, answer, cited_ids
from tests.support.judge_support import SECRET, small_trace

IDS = ["e1", "e2", "e4", "e5", "e7", "e9"]


@pytest.fixture
def fake() -> Iterator[FakeLLM]:
    server = FakeLLM().start()
    yield server
    server.stop()


def settings(fake: FakeLLM, tmp_path: Path, **kw: object) -> JudgeSettings:
    values: dict[str, object] = {
        "model": "fake-model",
        "base_url": fake.url,
        "samples": 1,
        "max_retries": 3,
        "backoff_s": 0.0,
        "prices": "fake-model=2/10",
        "cache_dir": tmp_path / "cache",
    }
    values.update(kw)
    return JudgeSettings(**values)  # type: ignore[arg-type]


def judge(fake: FakeLLM, tmp_path: Path, **kw: object) -> JudgeResult:
    return judge_trace(small_trace(), settings(fake, tmp_path, **kw))


def test_strict_schema_supported(fake: FakeLLM, tmp_path: Path) -> None:
    result = judge(fake, tmp_path)
    assert result.status == "done", result.reason
    assert fake.formats() == ["json_schema"]
    fmt = fake.requests[0]["response_format"]["json_schema"]
    assert fmt["strict"] is True
    assert fmt["schema"]["properties"]["scores"]["required"] == list(DIMENSIONS)
    assert result.output_mode == "json_schema"
    assert set(result.scores) == set(DIMENSIONS) and result.overall == 4.0
    assert result.grounded is True and not result.ungrounded
    assert all(result.evidence[d] for d in DIMENSIONS)
    assert result.rubric_id == "default" and result.rubric_version == "1.0.0"
    assert result.usage is not None
    assert (result.usage.prompt_tokens, result.usage.completion_tokens) == (1000, 200)
    assert result.usage.cost_usd == pytest.approx((1000 * 2 + 200 * 10) / 1e6)
    assert result.usage.calls == 1


def test_the_judge_sees_tagged_events_redacted_and_the_outcome_rule(
    fake: FakeLLM, tmp_path: Path
) -> None:
    judge(fake, tmp_path)
    system, user = (m["content"] for m in fake.requests[0]["messages"])
    assert "do not let the outcome decide" in system
    assert cited_ids(fake.requests[0]) == [f"e{i}" for i in range(1, 10)]
    assert SECRET not in user and "<redacted:" in user
    assert "UNDOES the edits since [e5]" in user
    assert user.index("<TRACE>") < user.index("<OUTCOME>")


def test_json_mode_only(tmp_path: Path) -> None:
    fake = FakeLLM(supports=("json_object",)).start()
    try:
        result = judge(fake, tmp_path)
        assert result.status == "done", result.reason
        assert fake.formats() == ["json_schema", "json_object"]
        assert result.output_mode == "json_object"
        assert result.usage is not None and result.usage.calls == 2
        # The working rung is remembered: the next judgement starts there.
        judge(fake, tmp_path, model="fake-model-2")
        assert fake.formats()[2:] == ["json_schema", "json_object"]
        judge(fake, tmp_path, model="fake-model-2", samples=2)
        assert fake.formats()[4:] == ["json_object"]  # sample 0 cached, sample 1 asks json_object
    finally:
        fake.stop()


def test_plain_text_with_json_inside(tmp_path: Path) -> None:
    fake = FakeLLM(supports=()).start()
    try:
        fake.default = lambda req: Reply(
            content="Here is my assessment.\n```json\n"
            + answer(cited_ids(req), 3)
            + "\n```\nHope it helps."
        )
        result = judge(fake, tmp_path)
        assert result.status == "done", result.reason
        assert fake.formats() == ["json_schema", "json_object", None]
        assert result.output_mode == "text"
        assert result.scores["reproducibility"] == 3
    finally:
        fake.stop()


def test_malformed_json_then_a_good_repair(fake: FakeLLM, tmp_path: Path) -> None:
    fake.replies = [Reply(content='{"scores": {"problem_understanding": {"score": 4,')]
    result = judge(fake, tmp_path)
    assert result.status == "done", result.reason
    assert len(fake.requests) == 2
    repair = fake.requests[1]["messages"]
    assert repair[-2] == {
        "role": "assistant",
        "content": '{"scores": {"problem_understanding": {"score": 4,',
    }
    assert "cannot be used" in repair[-1]["content"]
    assert result.usage is not None and result.usage.prompt_tokens == 2000


def test_a_refusal_is_an_error_not_a_score(fake: FakeLLM, tmp_path: Path) -> None:
    fake.default = Reply(content=None, refusal="I can't help with judging people.")
    result = judge(fake, tmp_path, samples=3)
    assert result.status == "error"
    assert "refused" in (result.reason or "")
    assert not result.scores and result.overall is None
    assert len(fake.requests) == 1  # no repair, no further samples


def test_429_then_success(fake: FakeLLM, tmp_path: Path) -> None:
    fake.replies = [Reply(status=429, content="slow down", headers={"Retry-After": "0"})]
    result = judge(fake, tmp_path)
    assert result.status == "done", result.reason
    assert len(fake.requests) == 2
    assert result.usage is not None and result.usage.calls == 2


def test_500s_until_giving_up(fake: FakeLLM, tmp_path: Path) -> None:
    fake.default = Reply(status=500, content="boom")
    result = judge(fake, tmp_path, max_retries=2, samples=2)
    assert result.status == "error"
    assert "gave up after 3 attempts" in (result.reason or "") and "500" in (result.reason or "")
    assert len(fake.requests) == 3  # bounded, and the second sample is not tried
    assert not result.scores


def test_missing_dimensions_are_not_invented(fake: FakeLLM, tmp_path: Path) -> None:
    fake.default = lambda req: Reply(content=answer(cited_ids(req), drop=("reproducibility",)))
    result = judge(fake, tmp_path)
    assert result.status == "error"
    assert "dimension reproducibility is missing" in (result.reason or "")
    assert len(fake.requests) == 2  # the answer and one repair
    assert "reproducibility is missing" in fake.requests[1]["messages"][-1]["content"]


def test_scores_out_of_range_are_repaired_or_refused(fake: FakeLLM, tmp_path: Path) -> None:
    fake.replies = [lambda req: Reply(content=answer(cited_ids(req), {"use_of_evidence": 7}))]
    result = judge(fake, tmp_path)
    assert result.status == "done", result.reason
    assert "outside 1-5" in fake.requests[1]["messages"][-1]["content"]
    assert result.scores["use_of_evidence"] == 4

    fake.replies = []
    fake.default = lambda req: Reply(content=answer(cited_ids(req), {"use_of_evidence": 0}))
    result = judge(fake, tmp_path, model="other")
    assert result.status == "error" and "use_of_evidence.score 0 is outside 1-5" in (
        result.reason or ""
    )


def test_citations_of_unknown_events_are_flagged(fake: FakeLLM, tmp_path: Path) -> None:
    fake.default = lambda req: Reply(
        content=answer(
            cited_ids(req), cite={"decision_rationale": ["[e7]", "e404"], "use_of_evidence": []}
        )
    )
    result = judge(fake, tmp_path)
    assert result.status == "done"
    assert result.grounded is False
    assert result.ungrounded == ["decision_rationale", "use_of_evidence"]
    assert result.unknown_citations == {"decision_rationale": ["e404"]}
    assert result.evidence["decision_rationale"] == ["e7"]  # brackets stripped, unknown left out
    assert result.scores["decision_rationale"] == 4  # kept, but flagged


def test_multi_sample_disagreement(fake: FakeLLM, tmp_path: Path) -> None:
    fake.replies = [
        (lambda s: lambda req: Reply(content=answer(cited_ids(req), {"problem_understanding": s})))(
            s
        )
        for s in (1, 5, 3)
    ]
    result = judge(fake, tmp_path, samples=3)
    assert result.status == "done" and result.samples == 3
    assert result.scores["problem_understanding"] == 3.0
    assert result.spread["problem_understanding"] == 4.0
    assert result.spread["reproducibility"] == 0.0
    assert result.low_confidence is True
    assert [s["problem_understanding"] for s in result.sample_scores] == [1, 5, 3]

    agreeing = judge(fake, tmp_path, samples=3, model="steady")
    assert agreeing.low_confidence is False and max(agreeing.spread.values()) == 0.0


def test_cache_hit_sends_no_request(fake: FakeLLM, tmp_path: Path) -> None:
    first = judge(fake, tmp_path, samples=2)
    assert len(fake.requests) == 2
    again = judge(fake, tmp_path, samples=2)
    assert len(fake.requests) == 2  # nothing sent
    assert again.scores == first.scores and again.trace_digest == first.trace_digest
    assert again.usage is not None
    assert (again.usage.cached_samples, again.usage.calls, again.usage.cost_usd) == (2, 0, 0.0)
    files = list(DirCache(tmp_path / "cache").root.rglob("*.json"))
    assert len(files) == 2 and "scores" in json.loads(files[0].read_text())
    # Another model, another rubric text or another trace is asked again.
    judge(fake, tmp_path, samples=1, model="another")
    assert len(fake.requests) == 3


def test_no_model_is_skipped_with_a_reason(fake: FakeLLM, tmp_path: Path) -> None:
    result = judge(fake, tmp_path, model=None)
    assert result.status == "skipped" and "PRTRACE_JUDGE_MODEL" in (result.reason or "")
    assert not result.scores and result.overall is None
    no_endpoint = judge(fake, tmp_path, base_url=None)
    assert no_endpoint.status == "skipped" and "OPENAI_API_KEY" in (no_endpoint.reason or "")
    assert fake.requests == []


def test_rubric_is_picked_per_request_from_the_rubric_dir(fake: FakeLLM, tmp_path: Path) -> None:
    from prtrace.qa.judge.rubric import builtin_dir

    text = (builtin_dir() / "default.toml").read_text()
    own = tmp_path / "rubrics"
    own.mkdir()
    (own / "strict.toml").write_text(
        text.replace('id = "default"', 'id = "strict"').replace(
            'version = "1.0.0"', 'version = "2"'
        )
    )
    result = judge(fake, tmp_path, rubric="strict", rubric_dirs=(str(own),))
    assert result.status == "done" and result.rubric_id == "strict" and result.rubric_version == "2"
    assert 'Rubric "strict" version 2' in fake.requests[0]["messages"][0]["content"]
    missing = judge(fake, tmp_path, rubric="nope", rubric_dirs=(str(own),))
    assert missing.status == "error" and "rubric 'nope' not found" in (missing.reason or "")
    assert "strict" in (missing.reason or "")
