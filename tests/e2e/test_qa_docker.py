"""QA end to end against the real Docker engine: sample repositories, each with
a trace, through :func:`prtrace.qa.pipeline.run_qa_report`."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from prtrace.events import Edit
from prtrace.hashing import text_hash
from prtrace.patches import make_patch
from prtrace.qa.pipeline import QASettings, run_qa, run_qa_report
from prtrace.qa.runner import LABEL, Limits, sweep
from tests.support.qa_support import GO_IMAGE, diff_of, make_repo, make_trace

CALC = """def add(a, b):
    return a - b


def mul(a, b):
    return a * b
"""
TESTS = """from calc import add, mul


def test_add():
    assert add(2, 3) == 5


def test_mul():
    assert mul(2, 3) == 6
"""


@pytest.fixture
def settings(tmp_path: Path, docker_client) -> QASettings:
    return QASettings(cache_dir=tmp_path / "cache", limits=Limits(timeout_s=60, memory="512m"))


@pytest.fixture
def calc(tmp_path: Path):
    return make_repo(tmp_path / "calc", {"calc.py": CALC, "tests/test_calc.py": TESTS})


def test_resolved(calc, settings):
    repo, commit = calc
    patch = diff_of(repo, {"calc.py": CALC.replace("a - b", "a + b")})
    report = run_qa_report(make_trace(repo, commit, patch=patch), settings=settings, job_id="j1")
    res = report.result
    assert res.verdict == "resolved" and res.ok, (res.stdout, res.error)
    assert res.fail_to_pass == ["tests/test_calc.py::test_add"]
    assert res.pass_to_pass == ["tests/test_calc.py::test_mul"]
    assert res.pass_to_fail == []
    assert (res.passed, res.failed, res.exit_code) == (2, 0, 0)
    assert (res.baseline.passed, res.baseline.failed, res.baseline.exit_code) == (1, 1, 1)
    assert res.patch.method == "git apply" and res.patch.applied
    assert res.runner == "pytest" and "2 passed" in res.stdout
    assert b"1 failed, 1 passed" in report.logs["base.stdout"]
    # The worktree is gone; the mirror stays for the next job.
    assert list((settings.work_dir).iterdir()) == []
    assert len(list(settings.mirrors_dir.glob("*.git"))) == 1


def test_regressed(calc, settings):
    repo, commit = calc
    patch = diff_of(repo, {"calc.py": CALC.replace("a - b", "a + b").replace("a * b", "a ** b")})
    res = run_qa(make_trace(repo, commit, patch=patch), settings=settings)
    assert res.verdict == "regressed" and not res.ok
    assert res.pass_to_fail == ["tests/test_calc.py::test_mul"]
    assert res.fail_to_pass == ["tests/test_calc.py::test_add"]


def test_fixes_nothing(calc, settings):
    repo, commit = calc
    patch = diff_of(repo, {"calc.py": CALC.replace("return a - b", "return (a - b)")})
    res = run_qa(make_trace(repo, commit, patch=patch), settings=settings)
    assert res.verdict == "not_resolved" and not res.ok
    assert res.fail_to_pass == [] and res.pass_to_fail == []
    assert res.failed == 1 and res.exit_code == 1


def test_task_fail_to_pass_is_the_target(calc, settings):
    repo, commit = calc
    patch = diff_of(repo, {"calc.py": CALC.replace("return a - b", "return (a - b)")})
    trace = make_trace(repo, commit, patch=patch, fail_to_pass=["tests/test_calc.py::test_mul"])
    # test_mul passes already, yet is no FAIL_TO_PASS: the verdict only checks it passes.
    res = run_qa(trace, settings=settings)
    assert res.verdict == "resolved" and res.fail_to_pass == []


def test_needs_fuzz(tmp_path, settings):
    body = "".join(f"# filler {i}\n" for i in range(30))
    repo, commit = make_repo(
        tmp_path / "fz", {"calc.py": "# header\n" * 3 + body + CALC, "tests/test_calc.py": TESTS}
    )
    # The developer's copy had other comments above the function and fewer lines.
    theirs = body.replace("# filler 29\n", "# changed 29\n") + CALC
    patch = make_patch(theirs, theirs.replace("a - b", "a + b"), "calc.py")
    res = run_qa(make_trace(repo, commit, patch=patch), settings=settings)
    assert res.patch.method == "patch --fuzz=3", res.patch
    assert "offset 3" in res.patch.detail and "fuzz" in res.patch.detail
    assert res.verdict == "resolved"


def test_model_written_patch_wrong_counts_no_prefixes(calc, settings):
    # Bare paths (-p0) and a header claiming 2 lines where the body has 4: unidiff
    # refused it before any apply; the ladder's --recount rung applies it.
    patch = (
        "--- calc.py\n+++ calc.py\n@@ -1,2 +1,2 @@\n def add(a, b):\n"
        "-    return a - b\n+    return a + b\n \n \n"
    )
    repo, commit = calc
    res = run_qa(make_trace(repo, commit, patch=patch), settings=settings)
    assert res.verdict == "resolved" and res.ok, (res.error, res.patch)
    assert res.patch.method == "git apply --recount" and res.patch.strip == 0
    assert res.patch.tried == ["git apply", "git apply --recount"]
    [hunk] = res.patch.hunks
    assert hunk.applied and (hunk.header, hunk.recounted) == ("@@ -1,2 +1,2 @@", "@@ -1,4 +1,4 @@")
    assert res.fail_to_pass == ["tests/test_calc.py::test_add"]


def test_crlf_patch_without_prefixes_through_patch(calc, settings):
    patch = (
        "--- calc.py\n+++ calc.py\n@@ -1,9 +1,9 @@\n def add(a, b):\n"
        "-    return a - b\n+    return a + b\n"
    ).replace("\n", "\r\n")
    repo, commit = calc
    res = run_qa(make_trace(repo, commit, patch=patch), settings=settings)
    assert res.verdict == "resolved", (res.error, res.patch)
    assert res.patch.method == "patch --fuzz=3" and res.patch.strip == 0
    assert any("changed to the file's LF" in n for n in res.patch.normalized)
    assert res.patch.hunks[0].recounted == "@@ -1,2 +1,2 @@"


def test_malformed_patch_that_cannot_apply_names_the_hunk(calc, settings):
    patch = "--- calc.py\n+++ calc.py\n@@ -5,1 +5,1 @@\n def mul(a, b):\n-    return a / b\n+    return b * a\n"
    repo, commit = calc
    res = run_qa(make_trace(repo, commit, patch=patch), settings=settings)
    assert res.verdict == "error" and res.error.kind == "patch_failed"
    assert (
        "hunk 1 of calc.py (@@ -5,1 +5,1 @@): a removed line does not match the file at line 6"
        in res.error.message
    ), res.error.message
    assert res.patch.hunks[0].problem and not res.patch.applied


def test_cannot_apply(calc, settings):
    repo, commit = calc
    patch = make_patch(
        "def sub(a, b):\n    return a + b\n", "def sub(a, b):\n    return a - b\n", "calc.py"
    )
    res = run_qa(make_trace(repo, commit, patch=patch), settings=settings)
    assert res.verdict == "error" and res.error.kind == "patch_failed"
    assert res.patch.applied is False and res.patch.rejected_hunks == 1
    assert "git apply" in res.patch.detail and "patch --fuzz=3" in res.patch.detail
    message = res.error.message
    assert "hunk 1 of calc.py (@@ -1,2 +1,2 @@): context does not match" in message
    assert "already has what the patch adds" in message and res.patch.hunks[0].problem
    assert res.baseline.failed == 1  # the tests ran at base before the patch failed


def test_no_final_patch_is_rebuilt_from_edits(calc, settings):
    repo, commit = calc
    now = datetime.now(UTC)
    fixed = CALC.replace("a - b", "a + b")
    new_test = TESTS + "\n\ndef test_add_zero():\n    assert add(0, 0) == 0\n"
    events = [
        Edit(
            id="e1",
            t=now,
            session_id="s",
            path="calc.py",
            op="replace",
            patch_unified=make_patch(CALC, fixed, "calc.py"),
            before_hash=text_hash(CALC),
            after_hash=text_hash(fixed),
        ),
        Edit(
            id="e2",
            t=now,
            session_id="s",
            path="tests/test_calc.py",
            op="insert",
            patch_unified=make_patch(TESTS, new_test, "tests/test_calc.py"),
            before_hash=text_hash(TESTS),
            after_hash=text_hash(new_test),
        ),
    ]
    res = run_qa(make_trace(repo, commit, patch=None, events=events), settings=settings)
    assert res.verdict == "resolved", (res.error, res.stdout)
    assert res.patch.method == "replay + git apply"
    assert res.fail_to_pass == ["tests/test_calc.py::test_add", "tests/test_calc.py::test_add_zero"]
    # A trace whose edits do not match the repository is a patch failure naming the event.
    events[1] = Edit(
        id="e2",
        t=now,
        session_id="s",
        path="calc.py",
        op="replace",
        patch_unified="",
        before_hash=text_hash("other"),
        after_hash=text_hash("x"),
    )
    res = run_qa(make_trace(repo, commit, patch=None, events=events), settings=settings)
    assert res.verdict == "error" and res.error.kind == "patch_failed"
    assert "id e2" in res.error.message


GO_MOD = "module example.com/calc\n\ngo 1.19\n"
GO_SRC = "package calc\n\nfunc Add(a, b int) int {\n\treturn a - b\n}\n"
GO_TEST = """package calc

import "testing"

func TestAdd(t *testing.T) {
\tif Add(2, 3) != 5 {
\t\tt.Fatal("Add(2, 3) != 5")
\t}
}

func TestZero(t *testing.T) {
\tif Add(0, 0) != 0 {
\t\tt.Fatal("zero")
\t}
}
"""


def test_go_repository(tmp_path, settings):
    repo, commit = make_repo(
        tmp_path / "go", {"go.mod": GO_MOD, "calc.go": GO_SRC, "calc_test.go": GO_TEST}
    )
    patch = diff_of(repo, {"calc.go": GO_SRC.replace("a - b", "a + b")})
    res = run_qa(
        make_trace(repo, commit, patch=patch, image=GO_IMAGE, command="go test ./..."),
        settings=settings,
    )
    assert res.runner == "go" and res.command == "go test ./..."
    assert res.verdict == "resolved", (res.stdout, res.stderr, res.error)
    assert res.fail_to_pass == ["example.com/calc/TestAdd"]
    assert res.pass_to_pass == ["example.com/calc/TestZero"]
    assert res.baseline.failed == 1 and res.baseline.exit_code == 1
    assert "--- FAIL" not in res.stdout and "ok" in res.stdout


UNITTESTS = """import unittest

from calc import add, mul


class T(unittest.TestCase):
    def test_add(self):
        self.assertEqual(add(2, 3), 5)

    def test_mul(self):
        self.assertEqual(mul(2, 3), 6)
"""


def test_summary_line_and_exit_code_runners(tmp_path, settings):
    repo, commit = make_repo(tmp_path / "ut", {"calc.py": CALC, "tests/test_calc.py": UNITTESTS})
    patch = diff_of(repo, {"calc.py": CALC.replace("a - b", "a + b")})
    unittest_cmd = "PYTHONPATH=. python3 -m unittest discover -s tests 2>&1"
    res = run_qa(make_trace(repo, commit, patch=patch, command=unittest_cmd), settings=settings)
    assert res.runner == "command" and res.verdict == "resolved"
    assert (res.baseline.failed, res.failed, res.passed) == (1, 0, 2)
    res = run_qa(
        make_trace(
            repo,
            commit,
            patch=patch,
            command="python3 -c 'import calc; assert calc.add(1, 1) == 2'",
        ),
        settings=settings,
    )
    assert res.verdict == "resolved" and res.fail_to_pass == []
    assert (res.baseline.exit_code, res.exit_code) == (1, 0)


def test_missing_image_is_named(calc, settings):
    repo, commit = calc
    trace = make_trace(repo, commit, patch="", image="prtrace-test/nonexistent:1")
    res = run_qa(trace, settings=settings)
    assert res.verdict == "error" and res.error.kind == "image_missing"
    assert "prtrace-test/nonexistent:1" in res.error.message


def test_no_tests(tmp_path, settings):
    repo, commit = make_repo(tmp_path / "empty", {"calc.py": CALC})
    patch = diff_of(repo, {"calc.py": CALC.replace("a - b", "a + b")})
    res = run_qa(make_trace(repo, commit, patch=patch), settings=settings)
    assert res.verdict == "no_tests" and res.exit_code == 5 and not res.ok


def test_sweep_removes_leftovers_only(docker_client):
    image = "prtrace-test/python:bookworm"
    left = docker_client.containers.create(
        image,
        ["sleep", "60"],
        labels={LABEL: "1", "prtrace.worker": "dead-1", "prtrace.deadline": "0"},
    )
    live = docker_client.containers.create(
        image,
        ["sleep", "60"],
        labels={LABEL: "1", "prtrace.worker": "live", "prtrace.deadline": "9999999999"},
    )
    other = docker_client.containers.create(image, ["sleep", "60"])  # not ours
    try:
        removed = sweep(docker_client)
        assert left.id in removed and live.id not in removed and other.id not in removed
        assert live.id in sweep(docker_client, labels={"prtrace.worker": "live"})
    finally:
        for c in (left, live, other):
            try:
                c.remove(force=True)
            except Exception:
                pass


def test_standard_images_are_found_not_rebuilt(docker_client, tmp_path):
    from prtrace.qa.images import IMAGES, build_image, resolve

    assert resolve("prtrace/python:3.11") == "prtrace-test/python:bookworm"
    spec = IMAGES["prtrace-test/go:bookworm"]
    assert spec.key("http://a") != spec.key("http://b")  # the mirror is part of the recipe
    # Present in the engine: nothing is built, even with an empty cache directory.
    assert (
        build_image("prtrace/python:3.11", client=docker_client, cache_dir=tmp_path / "empty")
        == "prtrace-test/python:bookworm"
    )
    assert not (tmp_path / "empty").exists()
    user = docker_client.containers.run(
        "prtrace-test/python:bookworm", ["id", "-u"], remove=True, network_mode="none"
    )
    assert user.strip() == b"1000"


def test_command_not_found_is_an_infrastructure_error(calc, settings):
    repo, commit = calc
    patch = diff_of(repo, {"calc.py": CALC.replace("a - b", "a + b")})
    res = run_qa(
        make_trace(repo, commit, patch=patch, command="no-such-test-runner -q"), settings=settings
    )
    assert res.verdict == "error" and not res.ok
    assert res.error.kind == "infrastructure" and "exit 127: command not found" in res.error.message
