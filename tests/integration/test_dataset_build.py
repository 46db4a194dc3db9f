"""``prtrace dataset build`` over real recorded traces, read back by the tools researchers use.

A real server holds the demo's recorded session and a second session whose patch adds a
test file and whose notes carry the privacy corpus (redacted at ingest), plus one trace
that is not resolved. The real CLI builds the folder; Hugging Face ``datasets`` loads it
(parquet and JSON) with the features its card declares, the ``swebench`` package's own
loader reads the instances, each ``patch`` and ``test_patch`` applies at ``base_commit``
with ``git apply``, and no planted secret appears anywhere. ``GET /export?format=`` gives
the same rows; ``prtrace task import`` turns them back into tasks that ``prtrace record
start --task`` picks up.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from prtrace.client import Client
from prtrace.demo import FAIL_TO_PASS
from prtrace.demo.server import ServerProcess, prtrace_command
from tests.support.dataset_support import SECOND_FAIL_TO_PASS, git, record_demo_traces
from tests.support.privacy_corpus import secrets


@pytest.fixture(scope="module")
def built(
    module_prtrace_server: ServerProcess, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("dataset")
    repo, commit, ids = record_demo_traces(module_prtrace_server, root)
    out = root / "out"
    result = cli(module_prtrace_server, "dataset", "build", str(out), "--json", "--no-progress")
    return {"repo": repo, "commit": commit, "ids": ids, "out": out, "report": json.loads(result)}


def cli(server: ServerProcess, *args: str, cwd: Path | None = None) -> str:
    env = {**os.environ, "PRTRACE_URL": server.url, "PRTRACE_API_TOKEN": server.api_token}
    done = subprocess.run(
        [*prtrace_command(), *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def card(out: Path) -> dict[str, Any]:
    text = (out / "README.md").read_text()
    return yaml.safe_load(text.split("---\n")[1])


def features(out: Path, config: str) -> Any:
    from datasets import Features

    info = next(i for i in card(out)["dataset_info"] if i["config_name"] == config)
    return Features._from_yaml_list(info["features"])


def test_only_sealed_resolved_traces_are_built(built: dict[str, Any]) -> None:
    report = built["report"]
    assert report["traces"] == 2 and report["verdicts"] == {"resolved": 2}
    rows = [
        json.loads(line)
        for f in sorted((built["out"] / "instances").glob("*.jsonl"))
        for line in f.read_text().splitlines()
    ]
    assert sorted(r["trace_id"] for r in rows) == sorted(built["ids"][:2])


@pytest.mark.parametrize("config", ["instances", "trajectories"])
def test_datasets_loads_parquet_and_json_with_the_cards_features(
    built: dict[str, Any], config: str
) -> None:
    from datasets import load_dataset

    out = built["out"]
    wanted = features(out, config)
    sizes = {
        s["name"]: s["num_examples"]
        for s in next(i for i in card(out)["dataset_info"] if i["config_name"] == config)["splits"]
    }
    for split, count in sizes.items():
        parquet = load_dataset(
            "parquet", data_files=str(out / config / f"{split}.parquet"), split="train"
        )
        assert parquet.features == wanted
        as_json = load_dataset(
            "json",
            data_files=str(out / config / f"{split}.jsonl"),
            split="train",
            features=wanted,
        )
        assert len(parquet) == len(as_json) == count
        assert parquet.to_list() == as_json.to_list()
    whole = load_dataset(str(out), config, split=next(iter(sizes)))
    assert whole.features == wanted


def test_swebench_loads_the_instances(built: dict[str, Any]) -> None:
    from swebench.harness.utils import load_swebench_dataset

    out = built["out"]
    for jsonl in (out / "instances").glob("*.jsonl"):
        split = jsonl.stem
        from_parquet = load_swebench_dataset(str(out / "instances"), split)
        from_jsonl = load_swebench_dataset(str(jsonl), split)
        ids = [i["instance_id"] for i in from_jsonl]
        assert [i["instance_id"] for i in from_parquet] == ids
        for instance in from_jsonl:
            assert instance["FAIL_TO_PASS"] in (list(FAIL_TO_PASS), SECOND_FAIL_TO_PASS)


def test_patches_apply_at_base_commit(built: dict[str, Any], tmp_path: Path) -> None:
    rows = [
        json.loads(line)
        for f in (built["out"] / "instances").glob("*.jsonl")
        for line in f.read_text().splitlines()
    ]
    with_tests = [r for r in rows if r["test_patch"]]
    assert with_tests and all("tests/test_rounding.py" in r["test_patch"] for r in with_tests)
    assert all("tests/" not in r["patch"] for r in rows)
    for n, row in enumerate(rows):
        work = tmp_path / f"w{n}"
        git(tmp_path, "clone", "-q", str(built["repo"]), str(work))
        git(work, "checkout", "-q", row["base_commit"])
        for part in ("patch", "test_patch"):
            if row[part]:
                subprocess.run(
                    ["git", "apply", "-"], input=row[part], text=True, cwd=work, check=True
                )
        assert git(work, "status", "--porcelain")


def test_no_planted_secret_is_anywhere(built: dict[str, Any]) -> None:
    blobs = [p.read_bytes() for p in built["out"].rglob("*") if p.is_file()]
    text = b"".join(blobs)
    assert b"<redacted:" in text  # the planted notes are there, redacted
    for secret in secrets():
        assert secret.encode() not in text, secret[:12]


def test_export_over_http_gives_the_same_rows(
    built: dict[str, Any], module_prtrace_server: ServerProcess
) -> None:
    rows = {
        json.loads(line)["trace_id"]: json.loads(line)
        for f in (built["out"] / "instances").glob("*.jsonl")
        for line in f.read_text().splitlines()
    }
    with Client(module_prtrace_server.url, module_prtrace_server.api_token) as client:
        lines = list(client.export(status="sealed", verdict="resolved", format="swebench"))
        trajectories = list(client.export(status="sealed", verdict="resolved", format="trajectory"))
    assert {json.loads(x)["trace_id"]: json.loads(x) for x in lines} == rows
    assert all(json.loads(x)["schema_version"] == "ATIF-v1.4" for x in trajectories)
    answer = httpx.get(
        f"{module_prtrace_server.url}/export",
        params={"format": "nope"},
        headers={"Authorization": f"Bearer {module_prtrace_server.api_token}"},
    )
    assert answer.status_code == 400 and "format" in answer.text


def test_exported_instances_come_back_as_tasks_to_record(
    built: dict[str, Any], module_prtrace_server: ServerProcess, tmp_path: Path
) -> None:
    instances = tmp_path / "tasks.jsonl"
    rows = [
        {**json.loads(line), "instance_id": "again__" + json.loads(line)["instance_id"]}
        for f in (built["out"] / "instances").glob("*.jsonl")
        for line in f.read_text().splitlines()
    ]
    instances.write_text("".join(json.dumps(r) + "\n" for r in rows))
    imported = json.loads(cli(module_prtrace_server, "task", "import", str(instances), "--json"))
    by_id = {t["instance_id"]: t["trace_id"] for t in imported["tasks"]}
    assert set(by_id) == {r["instance_id"] for r in rows}
    row = next(r for r in rows if r["test_patch"])
    work = tmp_path / "work"
    git(tmp_path, "clone", "-q", str(built["repo"]), str(work))
    git(work, "checkout", "-q", row["base_commit"])
    started = json.loads(
        cli(
            module_prtrace_server,
            "record",
            "start",
            "--task",
            row["instance_id"],
            "--no-daemon",
            "--json",
            cwd=work,
        )
    )
    assert started["trace_id"] == by_id[row["instance_id"]]
    with Client(module_prtrace_server.url, module_prtrace_server.api_token) as client:
        task = client.get_trace(started["trace_id"]).task
    assert task.test_patch == row["test_patch"]
    assert task.fail_to_pass == row["FAIL_TO_PASS"]
    assert task.title and row["problem_statement"].startswith(task.title)
