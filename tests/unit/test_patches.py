"""prtrace.patches: make, parse and strictly apply unified diffs."""

from __future__ import annotations

import random

import pytest

from prtrace.patches import PatchError, apply_patch, make_patch, parse_patch
from tests.support.patch_cases import CASES


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
