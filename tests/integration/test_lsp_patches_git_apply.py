"""The LSP recorder's edit patches, applied by a real ``git apply``: byte for byte,
line endings and missing final newlines included (the recorder's other parts are in
tests/unit/test_lsp_units.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from prtrace.hashing import text_hash
from prtrace.recorder.lsp.edits import summarize
from tests.support.lsp_support import git_apply


@pytest.mark.parametrize(
    ("before", "after", "op"),
    [
        ("a\nb\n", "a\nXb\n", "insert"),
        ("a\nb\n", "a\n", "delete"),
        ("a\nb\n", "a\nc", "replace"),  # the newline at the end goes too
        ("no newline", "no newline\n", "insert"),
        ("", "first\r\nline", "insert"),
        ("x\r\ny\r\n", "x\r\nz\r\n", "replace"),
    ],
)
def test_patches_apply_byte_for_byte(tmp_path: Path, before: str, after: str, op: str) -> None:
    summary = summarize(before, after, "src/m.py", "utf-16")
    assert summary is not None
    assert summary.op == op
    assert summary.before_hash == text_hash(before)
    assert summary.after_hash == text_hash(after)
    assert git_apply(before, [summary.patch], tmp_path, "src/m.py") == after
