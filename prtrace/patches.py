"""Unified diffs: make them from two texts, parse them, apply them exactly.

Edit events carry ``patch_unified``; replay rebuilds a workspace by applying
them in order, and QA checks a trace by doing the same. All of them must agree
byte for byte with what the recorder wrote, so the one implementation lives
here, in the package every part imports (``recorder/`` does not install
``unidiff``, and unidiff does not apply patches anyway).

Application is strict: a hunk applies only where its header says and only if
its context and removed lines match exactly. A trace that does not replay
exactly is a broken trace, and fuzzy matching would hide that. The "\\ No
newline at end of file" marker is made and understood, so texts without a
final newline round-trip.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field

from prtrace.errors import PatchError

NO_NEWLINE = "\\ No newline at end of file"
DEV_NULL = "/dev/null"

_HUNK_HEADER = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")


@dataclass
class Hunk:
    old_start: int
    old_count: int
    new_start: int
    new_count: int
    lines: list[str] = field(default_factory=list)
    """Body lines with their ``' '``/``'-'``/``'+'`` prefix and their own
    line ending; a line whose text has no final newline has none."""

    def old_lines(self) -> list[str]:
        return [line[1:] for line in self.lines if line[0] in " -"]

    def new_lines(self) -> list[str]:
        return [line[1:] for line in self.lines if line[0] in " +"]


@dataclass
class FilePatch:
    """The changes to one file. ``old_path``/``new_path`` are ``None`` for
    ``/dev/null`` (a created or a deleted file)."""

    old_path: str | None
    new_path: str | None
    hunks: list[Hunk] = field(default_factory=list)

    @property
    def path(self) -> str:
        path = self.new_path if self.new_path is not None else self.old_path
        assert path is not None
        return path


def _split_keepends(text: str) -> list[str]:
    # str.splitlines() also splits on \x0b, \x1c, \u2028…; diffs are about '\n' only.
    parts = text.split("\n")
    lines = [part + "\n" for part in parts[:-1]]
    if parts[-1]:
        lines.append(parts[-1])
    return lines


def make_patch(before: str, after: str, path: str, *, context: int = 3) -> str:
    """A unified diff from ``before`` to ``after`` with ``a/``/``b/`` prefixes
    (as ``git diff`` writes them); empty when the texts are equal."""
    if before == after:
        return ""
    out: list[str] = []
    for line in difflib.unified_diff(
        _split_keepends(before),
        _split_keepends(after),
        fromfile=f"a/{path}",
        tofile=f"b/{path}",
        n=context,
    ):
        if line.endswith("\n"):
            out.append(line)
        else:
            # The last line of a text without a final newline.
            out.append(line + "\n" + NO_NEWLINE + "\n")
    return "".join(out)


def _strip_prefix(name: str) -> str | None:
    name = name.split("\t", 1)[0].rstrip("\n")
    if name == DEV_NULL:
        return None
    if name.startswith(("a/", "b/")):
        return name[2:]
    return name


def parse_patch(patch: str) -> list[FilePatch]:
    """Parse a unified diff of one or many files (``git diff`` output, with
    or without its ``diff --git`` and ``index`` lines). Entries without a
    ``---``/``+++`` pair (binary files, mode changes) are not returned."""
    lines = _split_keepends(patch)
    files: list[FilePatch] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if not line.startswith("--- "):
            i += 1
            continue
        if i + 1 >= len(lines) or not lines[i + 1].startswith("+++ "):
            raise PatchError(f"line {i + 1}: '---' without a '+++' line after it")
        current = FilePatch(_strip_prefix(line[4:]), _strip_prefix(lines[i + 1][4:]))
        files.append(current)
        i += 2
        while i < len(lines) and lines[i].startswith("@@"):
            i = _parse_hunk(lines, i, current)
    if patch.strip() and not files:
        raise PatchError("no file header ('--- a/…' / '+++ b/…') in the patch")
    return files


def _parse_hunk(lines: list[str], i: int, current: FilePatch) -> int:
    match = _HUNK_HEADER.match(lines[i])
    if not match:
        raise PatchError(f"line {i + 1}: bad hunk header {lines[i]!r}")
    old_start, old_count, new_start, new_count = (
        int(match.group(1)),
        int(match.group(2) or "1"),
        int(match.group(3)),
        int(match.group(4) or "1"),
    )
    hunk = Hunk(old_start, old_count, new_start, new_count)
    i += 1
    seen_old = seen_new = 0
    while i < len(lines) and (seen_old < old_count or seen_new < new_count):
        line = lines[i]
        tag = line[:1]
        if tag == "\\":
            _drop_newline(hunk, i)
        elif tag in (" ", "-", "+") or line == "\n":
            body = line if line != "\n" else " \n"  # some tools drop a blank context line's space
            hunk.lines.append(body)
            seen_old += tag != "+"
            seen_new += tag != "-"
        else:
            raise PatchError(f"line {i + 1}: unexpected {line!r} inside a hunk")
        i += 1
    if seen_old != old_count or seen_new != new_count:
        raise PatchError(f"line {i}: hunk ends early (patch truncated?)")
    if i < len(lines) and lines[i].startswith("\\"):
        _drop_newline(hunk, i)
        i += 1
    current.hunks.append(hunk)
    return i


def _drop_newline(hunk: Hunk, i: int) -> None:
    if not hunk.lines or not hunk.lines[-1].endswith("\n"):
        raise PatchError(f"line {i + 1}: misplaced '{NO_NEWLINE}'")
    hunk.lines[-1] = hunk.lines[-1][:-1]


def apply_file_patch(text: str, file_patch: FilePatch) -> str:
    """Apply one file's hunks to ``text``, exactly where the headers say."""
    source = _split_keepends(text)
    out: list[str] = []
    pos = 0  # index into source of the next line not yet copied
    for number, hunk in enumerate(file_patch.hunks, 1):
        old = hunk.old_lines()
        # A hunk that only inserts names the line *before* the insertion.
        start = hunk.old_start if hunk.old_count else hunk.old_start + 1
        start -= 1
        if start < pos:
            raise PatchError(f"{file_patch.path}: hunk {number} overlaps the one before it")
        if source[start : start + len(old)] != old:
            raise PatchError(
                f"{file_patch.path}: hunk {number} does not match the text at line {start + 1}"
            )
        out.extend(source[pos:start])
        out.extend(hunk.new_lines())
        pos = start + len(old)
    out.extend(source[pos:])
    return "".join(out)


def apply_patch(text: str, patch: str) -> str:
    """Apply a single-file patch to ``text`` (an empty patch changes nothing)."""
    files = parse_patch(patch)
    if not files:
        return text
    if len(files) != 1:
        raise PatchError(f"expected a patch of one file, got {len(files)}")
    return apply_file_patch(text, files[0])


@dataclass
class FileSection:
    """One file's part of a multi-file patch, as written (headers, binary blocks and all)."""

    path: str
    text: str


_DIFF_GIT = re.compile(r"^diff --git (?:\"?a/)?(.+?)\"? (?:\"?b/)?(.+?)\"?$")


def split_files(patch: str) -> list[FileSection]:
    """``patch`` cut into its files, each section's text exactly as written.

    Sections start at ``diff --git`` lines when there are any (so mode changes,
    renames and binary files stay whole), else at each ``---``/``+++`` pair.
    Joining the sections' texts gives ``patch`` back, less any preamble before
    the first file (a commit message, a ``git format-patch`` header).
    """
    lines = _split_keepends(patch)
    git_style = any(line.startswith("diff --git ") for line in lines)
    starts: list[int] = []
    for i, line in enumerate(lines):
        if git_style:
            if line.startswith("diff --git "):
                starts.append(i)
        elif (
            line.startswith("--- ")
            and i + 1 < len(lines)
            and lines[i + 1].startswith("+++ ")
            and not _inside_hunk(lines, i)
        ):
            starts.append(i)
    sections: list[FileSection] = []
    for n, start in enumerate(starts):
        end = starts[n + 1] if n + 1 < len(starts) else len(lines)
        body = lines[start:end]
        sections.append(FileSection(_section_path(body), "".join(body)))
    return sections


def _inside_hunk(lines: list[str], i: int) -> bool:
    """Is line ``i`` (``--- …``) a removed line of a hunk rather than a file header?"""
    for j in range(i - 1, -1, -1):
        line = lines[j]
        if line.startswith("@@"):
            match = _HUNK_HEADER.match(line)
            if not match:
                return False
            old = int(match.group(2) or "1")
            new = int(match.group(4) or "1")
            seen_old = seen_new = 0
            for body in lines[j + 1 : i]:
                tag = body[:1]
                seen_old += tag in (" ", "-", "\n")
                seen_new += tag in (" ", "+", "\n")
            return seen_old < old or seen_new < new
        if line.startswith(("--- ", "+++ ")):
            return False
    return False


def _section_path(body: list[str]) -> str:
    new = old = None
    for line in body:
        if line.startswith("+++ "):
            new = _strip_prefix(line[4:])
        elif line.startswith("--- "):
            old = _strip_prefix(line[4:])
        elif line.startswith("rename to "):
            new = line[len("rename to ") :].rstrip("\n")
        if line.startswith("@@"):
            break
    if new or old:
        return new or old or ""
    match = _DIFF_GIT.match(body[0].rstrip("\n")) if body else None
    return match.group(2) if match else ""
