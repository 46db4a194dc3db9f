"""prtrace.patches against git: its patches are real unified diffs that ``git apply``
takes, and ``git diff`` output parses and applies (the rest of prtrace.patches is in
tests/unit/test_patches.py)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from prtrace.patches import apply_file_patch, make_patch, parse_patch
from tests.support.patch_cases import CASES


def _git(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)


@pytest.mark.parametrize(("before", "after"), CASES[:5])
def test_git_apply_accepts_our_patches(tmp_path: Path, before: str, after: str) -> None:
    """The patches are real unified diffs: git applies them to the same result."""
    _git(tmp_path, "init", "-q")
    target = tmp_path / "f.txt"
    if before:
        target.write_text(before)
    patch = make_patch(before, after, "f.txt")
    if not before:  # git wants creations and deletions spelled out
        patch = patch.replace("--- a/f.txt", "--- /dev/null")
    if not after:
        patch = patch.replace("+++ b/f.txt", "+++ /dev/null")
    (tmp_path / "p.diff").write_text(patch)
    result = _git(tmp_path, "apply", "p.diff")
    assert result.returncode == 0, result.stderr
    assert (target.read_text() if target.exists() else "") == after


def test_git_diff_output_parses_and_applies(tmp_path: Path) -> None:
    """``git diff`` (with its diff/index lines) is understood, file by file."""
    _git(tmp_path, "init", "-q")
    (tmp_path / "a.txt").write_text("one\ntwo\nthree")
    (tmp_path / "b.txt").write_text("x\n")
    _git(tmp_path, "add", ".")
    (tmp_path / "a.txt").write_text("one\n2\nthree\n")
    (tmp_path / "b.txt").write_text("x\ny\n")
    diff = _git(tmp_path, "diff", "--no-color").stdout
    results = {
        fp.path: apply_file_patch(_git(tmp_path, "show", f":{fp.path}").stdout, fp)
        for fp in parse_patch(diff)
    }
    assert results == {"a.txt": "one\n2\nthree\n", "b.txt": "x\ny\n"}
