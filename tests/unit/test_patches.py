"""prtrace.patches: make, parse and strictly apply unified diffs."""

from __future__ import annotations

import random
import subprocess
from pathlib import Path

import pytest

from prtrace.patches import PatchError, apply_file_patch, apply_patch, make_patch, parse_patch

CASES = [
    ("a\nb\nc\n", "a\nB\nc\n"),
    ("a\nb\nc", "a\nb\nc\n"),  # newline added at the end
    ("a\nb\nc\n", "a\nb\nc"),  # newline removed at the end
    ("", "new file\n"),
    ("gone\n", ""),
    ("x\r\ny\r\n", "x\r\nz\r\n"),  # CRLF lines stay CRLF
    ("\n".join(f"line {i}" for i in range(40)) + "\n", "\n".join(
        f"line {i}" if i not in (3, 30) else f"changed {i}" for i in range(40)
    ) + "\n"),  # two hunks
    ("only\n", "only\n\n\n"),  # blank lines added
]


@pytest.mark.parametrize(("before", "after"), CASES)
def test_make_then_apply_round_trips(before: str, after: str) -> None:
    patch = make_patch(before, after, "f.txt")
    assert apply_patch(before, patch) == after


def test_equal_texts_give_an_empty_patch_that_changes_nothing() -> None:
    assert make_patch("same\n", "same\n", "f") == ""
    assert apply_patch("same\n", "") == "same\n"


def test_random_edits_round_trip() -> None:
    rng = random.Random(20240201)
    words = ["alpha", "beta", "", "gamma", "delta  ", "\tx", "é", "-- not a header", "+x"]
    for _ in range(300):
        before_lines = [rng.choice(words) for _ in range(rng.randint(0, 30))]
        after_lines = list(before_lines)
        for _ in range(rng.randint(1, 5)):
            where = rng.randint(0, len(after_lines))
            action = rng.choice(["insert", "delete", "replace"])
            if action == "insert" or not after_lines:
                after_lines.insert(where, rng.choice(words))
            elif action == "delete":
                del after_lines[min(where, len(after_lines) - 1)]
            else:
                after_lines[min(where, len(after_lines) - 1)] = rng.choice(words) + "!"
        before = "\n".join(before_lines) + rng.choice(["", "\n"])
        after = "\n".join(after_lines) + rng.choice(["", "\n"])
        assert apply_patch(before, make_patch(before, after, "f")) == after


def test_patch_that_does_not_match_is_refused() -> None:
    patch = make_patch("a\nb\nc\n", "a\nB\nc\n", "f")
    with pytest.raises(PatchError, match="hunk 1 does not match"):
        apply_patch("a\nX\nc\n", patch)


def test_truncated_patch_is_refused() -> None:
    patch = make_patch("a\nb\nc\n", "a\nB\nc\n", "f")
    with pytest.raises(PatchError, match="ends early"):
        apply_patch("a\nb\nc\n", "".join(patch.splitlines(keepends=True)[:-2]))


def test_several_files_need_parse_patch() -> None:
    patch = make_patch("1\n", "2\n", "one.txt") + make_patch("3\n", "4\n", "dir/two.txt")
    files = parse_patch(patch)
    assert [file.path for file in files] == ["one.txt", "dir/two.txt"]
    with pytest.raises(PatchError, match="one file"):
        apply_patch("1\n", patch)


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
