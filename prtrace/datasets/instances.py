"""A trace document as a SWE-bench instance row and a prediction row.

The trace is the decoded JSON document (``GET /traces/{id}``, one line of
``GET /export``), not a :class:`prtrace.trace.Trace`: a dataset build must not
fail on a field a newer server added. The final patch is cut into its files
(:func:`prtrace.patches.split_files`); the files that are tests
(:func:`is_test_path`) make ``test_patch``, the rest ``patch``, as in
SWE-bench, where ``patch`` is the fix and ``test_patch`` the tests that check it.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from prtrace.datasets.features import ATTRIBUTION_KINDS
from prtrace.patches import split_files

_TEST_DIRS = frozenset({"test", "tests", "testing", "__tests__", "spec", "specs"})
_TEST_NAME = re.compile(
    r"^(test_.*\.py|.*_test\.py|conftest\.py|.*_test\.go|.*[._-](test|spec)\.[cm]?[jt]sx?"
    r"|.*Tests?\.(java|kt|cs|swift)|.*_spec\.rb|.*_test\.rb|test_.*\.rb|.*_test\.rs)$"
)


def is_test_path(path: str) -> bool:
    """Is ``path`` a test file (a tests folder, or a test file name in any language)?"""
    parts = path.replace("\\", "/").split("/")
    if any(part.lower() in _TEST_DIRS for part in parts[:-1]):
        return True
    return bool(_TEST_NAME.match(parts[-1]))


def split_patch(patch: str | None) -> tuple[str, str]:
    """``(code, tests)``: the patch's non-test files and its test files, each as written."""
    code: list[str] = []
    tests: list[str] = []
    for section in split_files(patch or ""):
        (tests if is_test_path(section.path) else code).append(section.text)
    return "".join(code), "".join(tests)


def repo_name(repository: str) -> str:
    """SWE-bench's ``owner/name`` from a repository URL or path (the last two parts)."""
    text = repository.strip().rstrip("/")
    text = re.sub(r"\.git$", "", text)
    text = re.sub(r"^[a-z][a-z0-9+.-]*://", "", text)  # scheme
    text = re.sub(r"^[^/@]+@([^:/]+):", r"\1/", text)  # scp-style git@host:owner/name
    parts = [p for p in text.replace("\\", "/").split("/") if p]
    if len(parts) >= 3 or (len(parts) == 2 and "." not in parts[0] and ":" not in parts[0]):
        return "/".join(parts[-2:])
    return parts[-1] if parts else repository


def instance_id(task: dict[str, Any]) -> str:
    """The task's stable id: its own ``id``, else ``owner__name-<hash of repo, commit, title>``.

    Every trace of one task gets the same id (which is what splits go by)."""
    given = task.get("id")
    if given:
        return str(given)
    key = "\0".join(
        str(task.get(k) or "") for k in ("repository", "commit", "title", "description")
    )
    digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:12]
    return f"{repo_name(str(task.get('repository', ''))).replace('/', '__')}-{digest}"


def problem_statement(task: dict[str, Any]) -> str:
    title = (task.get("title") or "").strip()
    description = (task.get("description") or "").strip()
    return "\n\n".join(part for part in (title, description) if part)


def _tests(qa: dict[str, Any]) -> dict[str, Any]:
    return qa.get("tests") or {}


def attribution_shares(artifacts: dict[str, Any]) -> dict[str, float | None]:
    """``attribution_<kind>`` share columns from ``artifacts.attribution`` (issue 17).

    TODO(issue 17): the field's final shape is that issue's; this reads the two
    likely ones — ``{"human": 0.8, …}`` and ``{"shares": {"human": 0.8, …}}`` (a
    share, or a line count turned into a share) — and gives ``None`` otherwise.
    """
    found = artifacts.get("attribution")
    if isinstance(found, dict) and isinstance(found.get("shares"), dict):
        found = found["shares"]
    if not isinstance(found, dict):
        return {f"attribution_{k}": None for k in ATTRIBUTION_KINDS}
    values = {k: found.get(k) for k in ATTRIBUTION_KINDS}
    numbers = {k: float(v) for k, v in values.items() if isinstance(v, (int, float))}
    total = sum(numbers.values())
    if total > 1.000001:  # line counts: make them shares
        numbers = {k: v / total for k, v in numbers.items()}
    return {f"attribution_{k}": numbers.get(k) for k in ATTRIBUTION_KINDS}


def instance_row(doc: dict[str, Any], *, swebench_strings: bool = False) -> dict[str, Any]:
    """One SWE-bench instance (plus prtrace's columns) from a trace document."""
    task = doc.get("task") or {}
    extra = task.get("extra") or {}
    artifacts = doc.get("artifacts") or {}
    qa = doc.get("qa") or {}
    tests = _tests(qa)
    judge = qa.get("judge") or {}
    code, test_files = split_patch(artifacts.get("final_patch"))
    fail_to_pass = list(tests.get("fail_to_pass") or [])
    pass_to_pass = list(tests.get("pass_to_pass") or [])
    scores = judge.get("scores") or {}
    row: dict[str, Any] = {
        "instance_id": instance_id(task),
        "repo": repo_name(str(task.get("repository", ""))),
        "base_commit": task.get("commit"),
        "patch": code,
        "test_patch": test_files or task.get("test_patch") or "",
        "problem_statement": problem_statement(task),
        "hints_text": task.get("hints_text") or "",
        "created_at": extra.get("created_at") or doc.get("created_at"),
        "version": extra.get("version") or "",
        "FAIL_TO_PASS": json.dumps(fail_to_pass) if swebench_strings else fail_to_pass,
        "PASS_TO_PASS": json.dumps(pass_to_pass) if swebench_strings else pass_to_pass,
        "environment_setup_commit": extra.get("environment_setup_commit") or task.get("commit"),
        "trace_id": doc.get("trace_id"),
        "repository": task.get("repository"),
        "developer": (doc.get("developer") or {}).get("id"),
        "test_image": task.get("test_image"),
        "test_command": task.get("test_command"),
        "verdict": tests.get("verdict"),
        "judge_overall": judge.get("overall"),
        "judge_model": judge.get("model"),
        "judge_rubric": judge.get("rubric_id") or judge.get("rubric_version"),
        "judge_scores": [
            {"dimension": name, "score": float(value)} for name, value in sorted(scores.items())
        ],
        "event_count": len(doc.get("events") or []),
        "sealed_at": doc.get("sealed_at"),
    }
    row.update(attribution_shares(artifacts))
    return row


def developer_name(doc: dict[str, Any], *, hash_names: bool = False) -> str:
    """``model_name_or_path`` of a human's prediction: ``human:<developer>``.

    With ``hash_names`` the developer id becomes a sha256 prefix, so predictions
    from one developer still group together without naming them."""
    developer = str((doc.get("developer") or {}).get("id") or "unknown")
    if hash_names:
        developer = "h-" + hashlib.sha256(developer.encode()).hexdigest()[:16]
    return f"human:{developer}"


def prediction_row(
    doc: dict[str, Any], instance: dict[str, Any], *, hash_names: bool = False
) -> dict[str, Any]:
    """SWE-bench's prediction: the human's final patch (without test files) as ``model_patch``."""
    return {
        "instance_id": instance["instance_id"],
        "model_name_or_path": developer_name(doc, hash_names=hash_names),
        "model_patch": instance["patch"],
    }
