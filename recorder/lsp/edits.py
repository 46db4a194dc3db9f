"""Turning a burst of keystrokes into one ``edit`` event.

A developer typing a line sends dozens of ``didChange`` notifications; the
trace wants one edit with a diff. A burst starts at the first change to a file
and ends on an idle gap, a save, a close, a switch to another file, or any
navigation. Its event carries:

* ``before_hash``/``after_hash`` — sha256 of the whole text before the first
  and after the last change (:func:`prtrace.hashing.text_hash`), so each
  file's ``after_hash`` is its next ``before_hash``;
* ``patch_unified`` — a unified diff (``--- a/path``/``+++ b/path``) that
  ``git apply`` or ``patch -p1`` turns the before text into the after text byte
  for byte, ``\\ No newline at end of file`` markers included;
* ``range`` and ``op`` — the smallest span of the *before* text that changed
  (in the negotiated position encoding), and whether the burst inserted,
  deleted or replaced text there.

A burst whose changes cancel out (typed, then undone) makes no event.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Literal

from prtrace.hashing import text_hash
from prtrace.recorder.lsp.positions import Encoding, index_to_position

NO_EOL = "\\ No newline at end of file\n"


@dataclass(slots=True)
class EditSummary:
    op: Literal["insert", "delete", "replace"]
    start: tuple[int, int]
    end: tuple[int, int]
    patch: str
    before_hash: str
    after_hash: str


def common_prefix(a: str, b: str) -> int:
    """Length of the longest common prefix, comparing slices (C speed) by halving."""
    n = min(len(a), len(b))
    lo, hi = 0, n  # a[:lo] == b[:lo] holds; find the largest such lo
    if a[:n] == b[:n]:
        return n
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if a[lo:mid] == b[lo:mid]:
            lo = mid
        else:
            hi = mid
    return lo


def common_suffix(a: str, b: str, limit: int) -> int:
    """Length of the longest common suffix no longer than ``limit``."""
    n = min(len(a), len(b), limit)
    if n == 0:
        return 0
    if a[len(a) - n :] == b[len(b) - n :]:
        return n
    lo, hi = 0, n  # suffixes of length lo are equal, of length hi are not
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if a[len(a) - mid :] == b[len(b) - mid :]:
            lo = mid
        else:
            hi = mid
    return lo


def diff_lines(text: str) -> list[str]:
    """Lines as patch tools see them: split after ``\\n`` only (``\\r`` is content)."""
    lines = text.split("\n")
    last = lines.pop()
    out = [line + "\n" for line in lines]
    if last:
        out.append(last)
    return out


def unified_patch(before: str, after: str, path: str) -> str:
    """A unified diff from ``before`` to ``after`` that patch tools apply exactly."""
    out: list[str] = []
    for line in difflib.unified_diff(
        diff_lines(before), diff_lines(after), f"a/{path}", f"b/{path}", lineterm="\n"
    ):
        if line.startswith(("---", "+++")) and not line.endswith("\n"):
            line += "\n"
        if line.endswith("\n"):
            out.append(line)
        else:
            out.append(line + "\n" + NO_EOL)
    return "".join(out)


def summarize(before: str, after: str, path: str, encoding: Encoding) -> EditSummary | None:
    """What changed from ``before`` to ``after``; None if nothing did."""
    if before == after:
        return None
    prefix = common_prefix(before, after)
    suffix = common_suffix(before, after, min(len(before), len(after)) - prefix)
    removed = len(before) - prefix - suffix
    added = len(after) - prefix - suffix
    op: Literal["insert", "delete", "replace"] = (
        "insert" if removed == 0 else "delete" if added == 0 else "replace"
    )
    return EditSummary(
        op=op,
        start=index_to_position(before, prefix, encoding),
        end=index_to_position(before, prefix + removed, encoding),
        patch=unified_patch(before, after, path),
        before_hash=text_hash(before),
        after_hash=text_hash(after),
    )


@dataclass(slots=True)
class Burst:
    """The changes to one file since its burst began."""

    uri: str
    before: str
    first_t: float
    last_t: float
    changes: int = 0
    version: int | None = None
