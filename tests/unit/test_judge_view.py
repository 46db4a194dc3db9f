"""What the judge sees: compaction within the budget, redaction, rubrics, prices."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from prtrace.qa.judge.compact import compact, estimate_tokens
from prtrace.qa.judge.pricing import PriceError, cost_usd, parse_prices, price_table
from prtrace.qa.judge.prompt import build_view
from prtrace.qa.judge.rubric import (
    RubricError,
    builtin_dir,
    list_rubrics,
    load_rubric,
    parse_rubric,
)
from prtrace.redaction import redact
from prtrace.trace import QA, TestsResult
from tests.support.judge_support import SECRET, big_trace, small_trace

BUDGET = 24_000


def test_20000_events_fit_the_budget_and_keep_every_thought_failure_and_edit() -> None:
    trace, must = big_trace(20_000)
    view = build_view(trace, load_rubric("default"), BUDGET)
    assert view.prompt_tokens <= BUDGET
    shown = set(re.findall(r"^\[([^\]]+)\]", view.user, re.M))
    for kind, ids in must.items():
        missing = ids - shown
        assert not missing, f"{len(missing)} {kind} events lost, e.g. {sorted(missing)[:3]}"
    assert view.trace.must_keep_dropped == 0
    assert view.trace.events_elided > 15_000
    gaps = re.findall(r"^… (\d+) events? elided …$", view.user, re.M)
    assert sum(map(int, gaps)) == view.trace.events_elided
    # Kept events were shortened, with markers saying so.
    assert "chars elided]" in view.user


def test_a_tiny_budget_is_still_respected() -> None:
    trace, _ = big_trace(2_000)
    view = compact(trace.events, 500)
    assert view.tokens <= 500 and view.must_keep_dropped > 0


def test_a_generous_budget_shows_everything_in_full() -> None:
    trace = small_trace()
    view = compact(trace.events, 100_000)
    assert view.events_shown == len(trace.events) and view.events_elided == 0
    assert "12 passed" in view.text and "+int(Decimal(x) * 100)" in view.text


def test_long_outputs_are_cut_with_markers_and_secrets_redacted() -> None:
    trace, _ = big_trace(100)
    view = compact(trace.events, 100_000)
    assert "… [" in view.text and "lines elided] …" in view.text
    small = build_view(small_trace(), load_rubric("default"), BUDGET)
    assert SECRET not in small.user and "<redacted:" in small.user


def test_test_results_are_in_their_own_block() -> None:
    trace = small_trace()
    trace.qa = QA(tests=TestsResult(verdict="resolved", ok=True, passed=12, fail_to_pass=["t::x"]))
    view = build_view(trace, load_rubric("default"), BUDGET)
    outcome = view.user[view.user.index("<OUTCOME>") :]
    assert (
        '"verdict":"resolved"' in outcome
        and '"verdict"' not in view.user[: view.user.index("<OUTCOME>")]
    )
    assert view.digest != build_view(small_trace(), load_rubric("default"), BUDGET).digest


@pytest.mark.parametrize(
    "text",
    [
        f"export OPENAI_API_KEY={SECRET}",
        "curl -H 'Authorization: Bearer abcdefgh12345678' x",
        "git clone https://bob:hunter2xyz@example.com/r.git",
        'db_password = "correct horse"',
        "AKIAABCDEFGHIJKLMNOP",
        "token ghp_" + "a" * 36,
        "-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----",
    ],
)
def test_redaction(text: str) -> None:
    out = redact(text)
    assert "<redacted:" in out
    for secret in (
        SECRET,
        "abcdefgh12345678",
        "hunter2xyz",
        "correct horse",
        "AKIAABCD",
        "aaaaaaaa",
        "MIIEow",
    ):
        assert secret not in out


def test_redaction_leaves_code_alone() -> None:
    code = "def parse_price(text: str) -> int:\n    return int(Decimal(text) * 100)"
    assert redact(code) == code


def test_estimate_is_conservative() -> None:
    assert estimate_tokens("x" * 33) == 10


def test_default_rubric_is_shipped_and_complete() -> None:
    rubric = load_rubric("default")
    assert rubric.names == [
        "problem_understanding",
        "investigation_strategy",
        "decision_rationale",
        "use_of_evidence",
        "reproducibility",
        "safety_privacy_awareness",
    ]
    assert all(set(d.anchors) >= {"1", "3", "5"} for d in rubric.dimensions)
    assert "default" in list_rubrics()
    assert rubric.overall(dict.fromkeys(rubric.names, 5)) == 5.0


def test_rubric_hash_follows_content_not_formatting(tmp_path: Path) -> None:
    text = (builtin_dir() / "default.toml").read_text()
    same = parse_rubric(("# a new comment\n" + text).encode(), "default.toml")
    assert same.content_hash == load_rubric("default").content_hash
    changed = parse_rubric(text.replace("Random or no", "Aimless or no").encode(), "default.toml")
    assert changed.content_hash != same.content_hash


def test_bad_rubrics_are_refused(tmp_path: Path) -> None:
    text = (builtin_dir() / "default.toml").read_text()
    with pytest.raises(RubricError, match="lacks the anchor"):
        parse_rubric(text.replace('"3" = "Reasonable', '"4" = "Reasonable').encode(), "x.toml")
    (tmp_path / "mine.toml").write_text(text)
    with pytest.raises(RubricError, match="its id is 'default'"):
        load_rubric("mine", [tmp_path])
    with pytest.raises(RubricError, match="not a rubric id"):
        load_rubric("../etc/passwd", [tmp_path])


def test_prices() -> None:
    table = price_table("local-llama=0/0, gpt-4o-mini=1/2")
    assert table["gpt-4o-mini"] == (1.0, 2.0)
    assert cost_usd("gpt-4o-mini-2024-07-18", 1_000_000, 0, table) == 1.0
    assert cost_usd("local-llama", 5000, 500, table) == 0.0
    assert cost_usd("unknown", 5000, 500, table) is None
    assert parse_prices("") == {}
    with pytest.raises(PriceError):
        parse_prices("gpt=1")
