"""QA in Docker on a native trace and a seed-dialect trace alike (issue 14).

Both fix the same bug on the same repository. The native trace brings its final patch;
the seed trace has only its ``edit_made`` event, whose hashes are the seed's kind (not
sha256), so QA rebuilds the patch by replaying it — applied, reported unverifiable, not
refused. Both are resolved, and ``?format=seed`` shows ``qa.tests`` with every result
written (``failed: 0``, ``skipped: 0``).
"""

from __future__ import annotations

import time
from pathlib import Path

import httpx

from prtrace.demo.server import ServerProcess
from prtrace.hashing import text_hash
from tests.support.qa_support import PY_IMAGE, diff_of, make_repo

CALC = "def add(a, b):\n    return a - b\n"
FIXED = CALC.replace("a - b", "a + b")
TESTS = "from calc import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n"
TASK = {"test_image": PY_IMAGE, "test_command": "python3 -m pytest -q"}


def test_qa_treats_native_and_seed_traces_alike(tmp_path: Path, docker_client) -> None:
    repo, commit = make_repo(tmp_path / "calc", {"calc.py": CALC, "tests/test_calc.py": TESTS})
    patch = diff_of(repo, {"calc.py": FIXED})
    task = {"repository": str(repo), "commit": commit, **TASK}
    server = ServerProcess(tmp_path / "home", env={"PRTRACE_QA_ON_FINALIZE": "true"})
    server.start()
    try:
        with httpx.Client(
            base_url=server.url,
            headers={"Authorization": f"Bearer {server.api_token}"},
            timeout=60,
        ) as api:
            native = api.post("/traces", json={"developer": {"id": "nat"}, "task": task}).json()
            native_edit = {
                "type": "edit",
                "id": "n-0",
                "t": "2024-01-15T10:30:25Z",
                "session_id": "ses",
                "path": "calc.py",
                "op": "replace",
                "patch_unified": patch,
                "before_hash": text_hash(CALC),
                "after_hash": text_hash(FIXED),
            }
            _send(api, native, [native_edit], {"artifacts": {"final_patch": patch}})
            seeded = api.post(
                "/traces",
                json={"developer": {"name": "Sam", "email": "sam@example.com"}, "task": task},
            ).json()
            seed_edit = {
                "t": "2024-01-15T10:30:25Z",
                "type": "edit_made",
                "session_id": "session-1",
                "file_path": "calc.py",
                "op": "replace",
                "patch_unified": patch,
                "before_hash": "abc123",
                "after_hash": "def456",
            }
            _send(api, seeded, [seed_edit], {})
            documents = {
                name: _wait_for_qa(api, created["trace_id"])
                for name, created in (("native", native), ("seed", seeded))
            }
            seed_view = api.get(f"/traces/{seeded['trace_id']}", params={"format": "seed"}).json()
    finally:
        server.stop()

    for name, doc in documents.items():
        tests = doc["qa"]["tests"]
        assert doc["qa"]["status"] == "done", (name, doc["qa"])
        assert tests["verdict"] == "resolved", (name, tests)
        assert tests["fail_to_pass"] == ["tests/test_calc.py::test_add"], (name, tests)
        assert (tests["ok"], tests["passed"], tests["failed"], tests["skipped"]) == (
            True,
            1,
            0,
            0,
        ), name
    assert "unverifiable" not in documents["native"]["qa"]["tests"]["patch"]
    seed_patch = documents["seed"]["qa"]["tests"]["patch"]
    assert seed_patch["method"].startswith("replay + ") and seed_patch["unverifiable"] == ["b0.0"]
    assert seed_view["qa"]["tests"] == {
        "runner": documents["seed"]["qa"]["tests"]["runner"],
        "image": PY_IMAGE,
        "command": "python3 -m pytest -q",
        "ok": True,
        "stdout": documents["seed"]["qa"]["tests"]["stdout"],
        "stderr": documents["seed"]["qa"]["tests"]["stderr"],
        "exit_code": 0,
        "passed": 1,
        "failed": 0,
        "skipped": 0,
    }


def _send(api: httpx.Client, created: dict, events: list, finalize: dict) -> None:
    token = {"Authorization": f"Bearer {created['upload_token']}"}
    tid = created["trace_id"]
    sent = api.post(f"/traces/{tid}/events", json={"seq": 0, "events": events}, headers=token)
    assert sent.status_code == 200, sent.text
    sealed = api.post(f"/traces/{tid}/finalize", json=finalize, headers=token)
    assert sealed.status_code == 200 and sealed.json()["qa_job_id"], sealed.text


def _wait_for_qa(api: httpx.Client, trace_id: str) -> dict:
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        doc = api.get(f"/traces/{trace_id}").json()
        if doc["qa"]["status"] in ("done", "error"):
            return doc
        time.sleep(0.5)
    raise AssertionError(f"QA of {trace_id} did not finish: {doc['qa']}")
