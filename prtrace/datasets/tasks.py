"""SWE-bench instances in: rows of a JSONL, JSON or parquet file as prtrace tasks.

``prtrace task import FILE`` creates one open trace per instance from what
:func:`task_from_instance` makes of it: the repository (``repository`` if the
row has it — a dataset prtrace built — else ``https://github.com/<repo>.git``,
or ``--repository-url`` with ``{repo}``), ``base_commit``, the problem
statement as title (its first line) and description (the rest), the test
lists (either convention: a list, or a JSON string as in the original
dataset), ``test_patch`` (QA applies it before running the tests), the test
image and command, and the rest (``version``, ``environment_setup_commit``,
``created_at``) in ``task.extra``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from prtrace.errors import PrtraceError, UsageError
from prtrace.trace import Task

TITLE_MAX = 1024


def read_instances(path: Path) -> Iterator[dict[str, Any]]:
    """The rows of a ``.jsonl``, ``.json`` (a list) or ``.parquet`` file, one at a time."""
    name = path.name.lower()
    if not path.is_file():
        raise UsageError(f"{path}: no such file")
    if name.endswith(".parquet"):
        try:
            import pyarrow.parquet as pq
        except ImportError:
            raise PrtraceError(
                "reading parquet needs pyarrow: pip install 'prtrace[datasets]'"
            ) from None
        for batch in pq.ParquetFile(path).iter_batches(batch_size=256):
            yield from batch.to_pylist()
        return
    if name.endswith(".json"):
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, list):
            raise UsageError(f"{path}: a .json file must hold a list of instances")
        yield from data
        return
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except ValueError as exc:
                raise UsageError(f"{path}:{number}: not JSON ({exc})") from None
            if not isinstance(row, dict):
                raise UsageError(f"{path}:{number}: an instance must be a JSON object")
            yield row


def test_list(value: Any, field: str, where: str) -> list[str]:
    """``FAIL_TO_PASS``/``PASS_TO_PASS`` from either convention: a list or a JSON string."""
    if value is None or value == "":
        return []
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise UsageError(f"{where}: {field} is a string but not a JSON list") from None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise UsageError(f"{where}: {field} must be a list of test ids")
    return list(value)


def split_statement(text: str) -> tuple[str | None, str | None]:
    """Title (the first line, when short enough) and description (the rest)."""
    text = text.strip()
    if not text:
        return None, None
    first, _, rest = text.partition("\n")
    first = first.strip()
    if len(first) > TITLE_MAX:
        return None, text
    return first, rest.strip() or None


def task_from_instance(
    row: dict[str, Any],
    where: str,
    *,
    repository_url: str = "https://github.com/{repo}.git",
    test_image: str | None = None,
    test_command: str | None = None,
) -> Task:
    """One instance as a task (``where`` names the row in errors)."""
    missing = [k for k in ("instance_id", "base_commit") if not row.get(k)]
    if not row.get("repository") and not row.get("repo"):
        missing.append("repo")
    if missing:
        raise UsageError(f"{where}: missing {', '.join(missing)}")
    repository = row.get("repository") or repository_url.format(repo=row["repo"])
    title, description = split_statement(str(row.get("problem_statement") or ""))
    extra = {
        key: str(row[key])
        for key in ("version", "environment_setup_commit", "created_at")
        if row.get(key) not in (None, "")
    }
    where_id = f"{where} ({row['instance_id']})"
    return Task(
        repository=str(repository),
        commit=str(row["base_commit"]),
        id=str(row["instance_id"]),
        title=title,
        description=description,
        test_image=test_image or row.get("test_image") or None,
        test_command=test_command or row.get("test_command") or None,
        fail_to_pass=test_list(row.get("FAIL_TO_PASS"), "FAIL_TO_PASS", where_id),
        pass_to_pass=test_list(row.get("PASS_TO_PASS"), "PASS_TO_PASS", where_id),
        test_patch=row.get("test_patch") or None,
        hints_text=row.get("hints_text") or None,
        extra=extra,
    )
