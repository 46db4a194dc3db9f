"""QA pieces that need neither git nor Docker: parsers and verdicts (the patch ladder,
path refusal, edit replay and the mirror cache, which need git, are in
tests/integration/test_qa_git.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from prtrace.qa.parsers import Instrumented, Parsed, instrument, parse, parse_go_json, parse_summary
from prtrace.qa.verdict import compare

# --- parsers ---------------------------------------------------------------------

JUNIT = """<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite name="pytest" errors="0"
failures="1" skipped="1" tests="4"><testcase classname="tests.test_a" name="test_ok"
file="tests/test_a.py" line="1"/><testcase classname="tests.test_a.TestK" name="test_m[1]"
file="tests/test_a.py" line="5"/><testcase classname="tests.test_a" name="test_bad"
file="tests/test_a.py" line="9"><failure message="x">boom</failure></testcase><testcase
classname="tests.test_a" name="test_skip" file="tests/test_a.py" line="12"><skipped
message="s"/></testcase></testsuite></testsuites>"""


def test_instrument_pytest_any_spelling_and_go():
    for cmd in ("pytest -q", "python3 -m pytest tests", "cd sub && pytest"):
        inst = instrument(cmd)
        assert inst.runner == "pytest" and "--junitxml=/repo/" in inst.env["PYTEST_ADDOPTS"]
        assert inst.command == cmd
    go = instrument("go test ./...")
    assert go.runner == "go" and go.command == "go test -json ./..."
    assert instrument("make check").runner == "command"


def test_junit_ids_statuses_and_cross_check(tmp_path: Path):
    inst = instrument("pytest")
    (tmp_path / inst.junit_path).parent.mkdir()
    (tmp_path / inst.junit_path).write_text(JUNIT)
    parsed = parse(inst, tmp_path, "", "", exit_code=1)
    assert parsed.source == "junit"
    assert parsed.tests == {
        "tests/test_a.py::test_ok": "passed",
        "tests/test_a.py::TestK::test_m[1]": "passed",
        "tests/test_a.py::test_bad": "failed",
        "tests/test_a.py::test_skip": "skipped",
    }
    assert (parsed.passed, parsed.failed, parsed.skipped) == (2, 1, 1)
    assert parsed.consistent
    assert not parse(inst, tmp_path, "", "", exit_code=0).consistent


def test_go_json_events():
    lines = [
        {"Action": "run", "Package": "ex/calc", "Test": "TestAdd"},
        {"Action": "output", "Package": "ex/calc", "Test": "TestAdd", "Output": "--- FAIL\n"},
        {"Action": "fail", "Package": "ex/calc", "Test": "TestAdd"},
        {"Action": "pass", "Package": "ex/calc", "Test": "TestSub"},
        {"Action": "fail", "Package": "ex/calc"},
    ]
    parsed = parse_go_json("\n".join(json.dumps(x) for x in lines))
    assert parsed.tests == {"ex/calc/TestAdd": "failed", "ex/calc/TestSub": "passed"}
    assert "--- FAIL" in parsed.text


def test_summary_lines_and_exit_code_fallback(tmp_path: Path):
    assert (
        parse_summary("== 3 passed, 2 failed in 0.1s ==").passed,
        parse_summary("== 3 passed, 2 failed in 0.1s ==").failed,
    ) == (3, 2)
    ut = parse_summary("Ran 5 tests in 0.01s\n\nFAILED (failures=1, errors=1, skipped=1)")
    assert (ut.passed, ut.failed, ut.skipped) == (2, 2, 1)
    inst = Instrumented("command", "make check", {})
    assert parse(inst, tmp_path, "nothing to see", "", 0).tests == {"<command>": "passed"}
    assert parse(inst, tmp_path, "", "", 2).tests == {"<command>": "failed"}


def _p(tests: dict[str, str], exit_code: int = 0) -> Parsed:
    p = Parsed("junit", dict(tests))
    values = list(tests.values())
    p.passed, p.failed = values.count("passed"), values.count("failed")
    p.no_tests = not tests
    p.consistent = (exit_code == 0) == (p.failed == 0)
    return p


@pytest.mark.parametrize(
    ("base", "after", "expected", "verdict"),
    [
        ({"a": "passed", "b": "failed"}, {"a": "passed", "b": "passed"}, [], "resolved"),
        ({"a": "passed", "b": "failed"}, {"a": "failed", "b": "passed"}, [], "regressed"),
        ({"a": "passed", "b": "failed"}, {"a": "passed", "b": "failed"}, [], "not_resolved"),
        ({"b": "failed", "c": "failed"}, {"b": "passed", "c": "failed"}, [], "partially_resolved"),
        ({"b": "failed", "c": "failed"}, {"b": "passed", "c": "failed"}, ["b"], "resolved"),
        ({"a": "passed"}, {"a": "passed", "new": "passed"}, [], "resolved"),
        ({"a": "passed"}, {}, [], "no_tests"),
        ({"a": "passed"}, {"a": "passed"}, [], "not_resolved"),
    ],
)
def test_verdicts(base, after, expected, verdict):
    cmp = compare(
        _p(base, 1 if "failed" in base.values() else 0),
        _p(after, 1 if "failed" in after.values() else 0),
        expected,
    )
    assert cmp.verdict == verdict


def test_inconsistent_run_is_not_resolved():
    after = _p({"b": "passed"})
    after.consistent = False  # exited non-zero with nothing failing
    assert compare(_p({"b": "failed"}, 1), after).verdict == "partially_resolved"
