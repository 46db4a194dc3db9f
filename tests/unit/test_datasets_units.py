"""prtrace.datasets without a server: rows, splits, the privacy gate, the folder, tasks in."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from prtrace.datasets.build import BuildOptions, build_dataset, export_line, rows_for
from prtrace.datasets.features import TRAJECTORY_SPEC, arrow_schema, instance_spec
from prtrace.datasets.instances import instance_id, is_test_path, repo_name, split_patch
from prtrace.datasets.privacy import DatasetPrivacyError
from prtrace.datasets.splits import parse_splits, split_of
from prtrace.datasets.tasks import read_instances, task_from_instance
from prtrace.errors import UsageError
from prtrace.patches import split_files
from tests.support.privacy_corpus import CORPUS

CODE = "diff --git a/pkg/m.py b/pkg/m.py\nindex 1..2 100644\n--- a/pkg/m.py\n+++ b/pkg/m.py\n@@ -1 +1 @@\n-a\n+b\n"
TESTS = (
    "diff --git a/tests/test_m.py b/tests/test_m.py\nnew file mode 100644\n--- /dev/null\n"
    "+++ b/tests/test_m.py\n@@ -0,0 +1,2 @@\n+def test_m():\n+    pass\n"
)


def doc(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "trace_id": "tr_1",
        "created_at": "2024-01-01T00:00:00Z",
        "status": "sealed",
        "developer": {"id": "alice@example.com"},
        "task": {
            "repository": "https://github.com/acme/inv.git",
            "commit": "abc1234",
            "title": "Rounding drops a cent",
            "description": "total() is off by one cent",
            "fail_to_pass": ["tests/test_m.py::test_m"],
        },
        "events": [
            {
                "type": "go_to_definition",
                "id": "e1",
                "t": "2024-01-01T00:00:01Z",
                "session_id": "s",
                "path": "pkg/m.py",
                "symbol": "total",
                "targets": [{"path": "pkg/money.py", "line": 12}],
            },
            {
                "type": "edit",
                "id": "e2",
                "t": "2024-01-01T00:00:02Z",
                "session_id": "s",
                "path": "pkg/m.py",
                "op": "replace",
                "patch_unified": "--- a/pkg/m.py\n+++ b/pkg/m.py\n@@ -1 +1 @@\n-a\n+b\n",
                "before_hash": "0" * 64,
                "after_hash": "1" * 64,
            },
            {
                "type": "terminal_command",
                "id": "e3",
                "t": "2024-01-01T00:00:03Z",
                "session_id": "s",
                "cmd": "pytest -q",
                "exit_code": 1,
                "stdout": "1 failed",
            },
            {
                "type": "thought",
                "id": "e4",
                "t": "2024-01-01T00:00:04Z",
                "session_id": "s",
                "raw": "the rounding happens before the sum",
            },
        ],
        "artifacts": {"final_patch": CODE + TESTS},
        "qa": {
            "status": "done",
            "tests": {
                "verdict": "resolved",
                "fail_to_pass": ["tests/test_m.py::test_m"],
                "pass_to_pass": ["tests/test_m.py::test_old"],
            },
            "judge": {"status": "done", "overall": 4.5, "scores": {"use_of_evidence": 4}},
        },
    }
    base.update(overrides)
    return base


def test_split_files_keeps_each_file_whole_and_in_order() -> None:
    sections = split_files(CODE + TESTS)
    assert [s.path for s in sections] == ["pkg/m.py", "tests/test_m.py"]
    assert "".join(s.text for s in sections) == CODE + TESTS
    plain = "--- a/x.py\n+++ b/x.py\n@@ -1,2 +1,2 @@\n--- not a header\n+b\n x\n--- a/y.py\n+++ b/y.py\n@@ -1 +1 @@\n-c\n+d\n"
    assert [s.path for s in split_files(plain)] == ["x.py", "y.py"]


@pytest.mark.parametrize(
    ("path", "test"),
    [
        ("tests/test_m.py", True),
        ("pkg/test_units.py", True),
        ("pkg/m_test.go", True),
        ("web/app.spec.ts", True),
        ("conftest.py", True),
        ("pkg/testing_tools.py", False),
        ("pkg/m.py", False),
        ("src/contest.py", False),
    ],
)
def test_test_paths(path: str, test: bool) -> None:
    assert is_test_path(path) is test


def test_patch_is_cut_into_code_and_tests() -> None:
    assert split_patch(CODE + TESTS) == (CODE, TESTS)
    assert split_patch(None) == ("", "")


def test_repo_names() -> None:
    assert repo_name("https://github.com/acme/inv.git") == "acme/inv"
    assert repo_name("git@github.com:acme/inv.git") == "acme/inv"
    assert repo_name("/srv/git/inv") == "git/inv"
    assert repo_name("inv") == "inv"


def test_instance_ids_are_stable_and_from_the_task() -> None:
    task = doc()["task"]
    assert instance_id(task) == instance_id(dict(task)) and instance_id(task).startswith(
        "acme__inv-"
    )
    assert instance_id({**task, "id": "acme__inv-42"}) == "acme__inv-42"
    assert instance_id({**task, "title": "another"}) != instance_id(task)


def test_instance_row_is_swebench_shaped() -> None:
    rows = rows_for(doc(), BuildOptions())
    row = rows.instance
    assert row["repo"] == "acme/inv" and row["base_commit"] == "abc1234"
    assert row["patch"] == CODE and row["test_patch"] == TESTS
    assert row["problem_statement"] == "Rounding drops a cent\n\ntotal() is off by one cent"
    assert row["FAIL_TO_PASS"] == ["tests/test_m.py::test_m"]
    assert row["PASS_TO_PASS"] == ["tests/test_m.py::test_old"]
    assert row["verdict"] == "resolved" and row["judge_overall"] == 4.5
    assert row["judge_scores"] == [{"dimension": "use_of_evidence", "score": 4.0}]
    assert rows.prediction == {
        "instance_id": row["instance_id"],
        "model_name_or_path": "human:alice@example.com",
        "model_patch": CODE,
    }
    strings = rows_for(doc(), BuildOptions(swebench_strings=True)).instance
    assert json.loads(strings["FAIL_TO_PASS"]) == ["tests/test_m.py::test_m"]


def test_hashed_names_hide_the_developer_everywhere() -> None:
    rows = rows_for(doc(), BuildOptions(hash_names=True))
    text = json.dumps([rows.instance, rows.prediction, rows.trajectory])
    assert "alice" not in text
    assert rows.prediction["model_name_or_path"].startswith("human:h-")


def test_trajectory_steps_are_atif() -> None:
    traj = rows_for(doc(), BuildOptions()).trajectory
    steps = traj["steps"]
    assert [s["step_id"] for s in steps] == list(range(1, 7))
    assert steps[0]["source"] == "user" and steps[0]["message"].startswith("Rounding")
    nav, edit, cmd, note, verdict = steps[1:]
    assert nav["tool_calls"][0]["function_name"] == "go_to_definition"
    assert nav["observation"]["results"][0]["content"] == "pkg/money.py:12"
    assert json.loads(edit["tool_calls"][0]["arguments"])["path"] == "pkg/m.py"
    assert edit["observation"]["results"][0]["content"].startswith("--- a/pkg/m.py")
    call = cmd["tool_calls"][0]
    assert call["function_name"] == "run_command"
    assert cmd["observation"]["results"][0]["source_call_id"] == call["tool_call_id"]
    assert cmd["observation"]["results"][0]["content"].endswith("[exit code 1]")
    assert note["reasoning_content"] == "the rounding happens before the sum"
    assert json.loads(note["extra"])["event_id"] == "e4"
    assert verdict["source"] == "system" and verdict["message"] == "QA verdict: resolved"
    assert traj["final_metrics"] == {"total_steps": 6}


@pytest.mark.parametrize("label,secret,line", CORPUS[:6])
def test_a_secret_left_in_a_trace_refuses_the_build(label: str, secret: str, line: str) -> None:
    planted = doc()
    planted["events"][3]["raw"] = line.format(s=secret)
    with pytest.raises(DatasetPrivacyError, match=r"trace tr_1: trajectories\.steps\[4\]"):
        rows_for(planted, BuildOptions())
    fixed = export_line(json.dumps(planted).encode(), "trajectory", BuildOptions())
    assert secret.encode() not in fixed and b"<redacted:" in fixed


def test_structure_is_not_taken_for_secrets() -> None:
    planted = doc()
    planted["task"]["commit"] = "3f2a9c1d" * 5
    rows_for(planted, BuildOptions())  # a 40-hex commit and 64-hex hashes pass


def test_splits_are_stable_and_by_task() -> None:
    shares = parse_splits("train=0.5,validation=0.25,test=0.25")
    picks = {split_of(f"t-{i}", shares) for i in range(200)}
    assert picks == {"train", "validation", "test"}
    assert all(split_of(f"t-{i}", shares) == split_of(f"t-{i}", shares) for i in range(50))
    for bad in ("train=0.5", "train=x", "=1", ""):
        with pytest.raises(UsageError):
            parse_splits(bad)


def test_build_writes_both_formats_with_the_declared_schema(tmp_path: Path) -> None:
    docs = [doc(trace_id=f"tr_{i}", task={**doc()["task"], "id": f"t-{i}"}) for i in range(7)]
    out = tmp_path / "ds"
    report = build_dataset((json.dumps(d).encode() for d in docs), out, BuildOptions(batch_rows=2))
    assert report.traces == 7 and report.tasks == 7
    total = 0
    for split in report.splits["instances"]:
        table = pq.read_table(out / "instances" / f"{split}.parquet")
        assert table.schema.equals(arrow_schema(instance_spec()))
        lines = (out / "instances" / f"{split}.jsonl").read_text().splitlines()
        assert [json.loads(x)["trace_id"] for x in lines] == table.column("trace_id").to_pylist()
        assert pq.read_table(out / "trajectories" / f"{split}.parquet").schema.equals(
            arrow_schema(TRAJECTORY_SPEC)
        )
        total += table.num_rows
    assert total == 7
    card = (out / "README.md").read_text()
    assert card.startswith("---\n") and "dataset_info:" in card and "FAIL_TO_PASS" in card
    assert not (tmp_path / "ds.partial").exists()
    with pytest.raises(UsageError, match="not empty"):
        build_dataset([], out)


def test_a_refused_build_leaves_nothing(tmp_path: Path) -> None:
    planted = doc()
    planted["events"][3]["raw"] = CORPUS[0][2].format(s=CORPUS[0][1])
    with pytest.raises(DatasetPrivacyError):
        build_dataset([doc(), planted], tmp_path / "ds")
    assert list(tmp_path.iterdir()) == []


def test_tasks_in_take_either_list_convention(tmp_path: Path) -> None:
    rows = [
        {
            "instance_id": "acme__inv-1",
            "repo": "acme/inv",
            "base_commit": "abc1234",
            "problem_statement": "Title line\n\nMore text",
            "FAIL_TO_PASS": '["t::a"]',
            "PASS_TO_PASS": ["t::b"],
            "test_patch": TESTS,
            "version": "1.0",
        },
        {"instance_id": "x", "repo": "o/r", "base_commit": "def5678", "FAIL_TO_PASS": ["t::c"]},
    ]
    path = tmp_path / "tasks.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    tasks = [task_from_instance(r, "row") for r in read_instances(path)]
    assert tasks[0].repository == "https://github.com/acme/inv.git"
    assert (tasks[0].title, tasks[0].description) == ("Title line", "More text")
    assert tasks[0].fail_to_pass == ["t::a"] and tasks[0].pass_to_pass == ["t::b"]
    assert tasks[0].test_patch == TESTS and tasks[0].extra == {"version": "1.0"}
    assert tasks[1].fail_to_pass == ["t::c"]
    with pytest.raises(UsageError, match="missing base_commit"):
        task_from_instance({"instance_id": "y", "repo": "o/r"}, "tasks.jsonl row 3")
    with pytest.raises(UsageError, match="FAIL_TO_PASS"):
        task_from_instance({**rows[1], "FAIL_TO_PASS": "t::c"}, "row")
