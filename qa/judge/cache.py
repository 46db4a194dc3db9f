"""The judgement cache: one file per sample, keyed by what determines the answer.

The key is the sha256 of the judge's view digest (the exact prompt: trace,
test results, prompt version), the rubric's content hash, the model and the
sample index. Re-judging the same thing with the same model and rubric sends
no request; changing any of them asks again. Only checked samples are
stored, never errors.

Why on disk under ``PRTRACE_HOME`` (``judge-cache/``) and not in the blob
store: ``qa/`` must not import ``backend/``, the judge runs in a worker
thread while the blob store is async, and the cache only saves money — the
durable record of every judgement is the ``judgements`` table. Workers on
several machines each keep their own cache (or share a mounted folder);
:class:`JudgeCache` is the seam for another store.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any, Protocol

from prtrace.hashing import text_hash


class JudgeCache(Protocol):
    def get(self, key: str) -> dict[str, Any] | None: ...

    def put(self, key: str, value: dict[str, Any]) -> None: ...


def cache_key(view_digest: str, rubric_hash: str, model: str, sample_index: int) -> str:
    return text_hash("\0".join((view_digest, rubric_hash, model, str(sample_index))))


class DirCache:
    """``root/ab/abcdef….json``, written atomically (temp file + rename)."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.json"

    def get(self, key: str) -> dict[str, Any] | None:
        try:
            return json.loads(self._path(key).read_text())
        except (OSError, ValueError):
            return None

    def put(self, key: str, value: dict[str, Any]) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "w") as fh:
                json.dump(value, fh)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
