"""From two test runs (base, patched) to FAIL_TO_PASS / PASS_TO_FAIL and a verdict.

With per-test names (JUnit, ``go test -json``) the runs are compared test by
test, as SWE-bench does: a test missing from a run counts as failed there (a
patch that deletes a passing test has broken it). The *targets* are the task's
``fail_to_pass`` when it names them, else the tests failing at base plus the
tests the patch added. Then, in order:

* ``no_tests``: the patched run found no test at all;
* ``regressed``: a test that passed at base fails with the patch;
* ``resolved``: every target passes, and the patched run's exit code agrees
  with its parsed results (an inconsistent run is at best partial);
* ``partially_resolved``: some targets pass;
* ``not_resolved``: none does, or there was nothing to fix.

With counts only (a summary line, or just the exit code) the same verdicts are
derived from the counts. Error verdicts (timeout, oom...) are decided by the
pipeline before this module is asked.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from prtrace.qa.parsers import Parsed


@dataclass
class Comparison:
    verdict: str
    fail_to_pass: list[str] = field(default_factory=list)
    pass_to_pass: list[str] = field(default_factory=list)
    pass_to_fail: list[str] = field(default_factory=list)


def compare(base: Parsed, after: Parsed, expected: list[str] | None = None) -> Comparison:
    """The verdict of a patch, given the base and patched runs."""
    if after.no_tests and after.failed == 0:
        return Comparison("no_tests")
    if base.named and after.named:
        return _compare_named(base, after, list(expected or []))
    return _compare_counts(base, after)


def _compare_named(base: Parsed, after: Parsed, expected: list[str]) -> Comparison:
    b, a = base.tests, after.tests
    fail_to_pass = sorted(t for t, s in a.items() if s == "passed" and b.get(t) in (None, "failed"))
    pass_to_pass = sorted(t for t, s in a.items() if s == "passed" and b.get(t) == "passed")
    pass_to_fail = sorted(
        t for t, s in b.items() if s == "passed" and a.get(t, "failed") == "failed"
    )
    if expected:
        targets = expected
    else:
        targets = [t for t, s in b.items() if s == "failed"] + [t for t in a if t not in b]
    fixed = [t for t in targets if a.get(t) == "passed"]
    if pass_to_fail:
        verdict = "regressed"
    elif targets and len(fixed) == len(targets):
        verdict = "resolved" if after.consistent else "partially_resolved"
    elif fixed:
        verdict = "partially_resolved"
    else:
        verdict = "not_resolved"
    return Comparison(verdict, fail_to_pass, pass_to_pass, pass_to_fail)


def _compare_counts(base: Parsed, after: Parsed) -> Comparison:
    base_bad = base.failed > 0 or not base.consistent
    if after.failed > base.failed or after.passed + after.failed < base.passed:
        verdict = "regressed"
    elif after.failed == 0 and after.consistent and base_bad:
        verdict = "resolved"
    elif after.failed < base.failed:
        verdict = "partially_resolved"
    else:
        verdict = "not_resolved"
    return Comparison(verdict)
