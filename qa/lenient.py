"""Patches as people and models write them: a lenient parser and a canonical form.

A hand-edited patch, or one a language model wrote, is often not what ``git
diff`` would make: hunk headers whose line counts are wrong, no ``a/``/``b/``
prefixes, CRLF line endings, a missing ``\\ No newline at end of file`` marker,
blank context lines that lost their leading space. Strict parsers (unidiff,
``git apply``) refuse such a patch before any apply is tried; GNU ``patch``
guesses. This module parses leniently and says what it had to guess:

* :func:`parse` reads file sections (``diff --git``, ``---``/``+++``, git's
  extended headers, binary blocks) and hunks, counting each hunk from its body
  and noting where the header disagrees (``Hunk.recounted``);
* :func:`detect_strip` picks ``-p0`` or ``-p1`` by which paths exist in the
  checkout;
* :func:`canonical` writes the patch again, text hunks only, with headers
  counted from the bodies and line endings matched to each file in the
  checkout: what the ``patch`` rung of the ladder applies, so ``patch`` sees
  exactly the file sections the safety checks saw and nothing else (no
  leading garbage it could read as names, no ed scripts);
* :func:`diagnose` explains, by hunk, why a hunk does not apply.

Everything here reads files only; running the tools is :mod:`prtrace.qa.patching`'s.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from prtrace.errors import PatchError

NO_NEWLINE = "\\ No newline at end of file"
DEV_NULL = "/dev/null"

_HUNK_HEADER = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@(.*)$")
_EXTENDED = re.compile(
    r"^(old mode|new mode|deleted file mode|new file mode|rename from|rename to|"
    r"copy from|copy to|similarity index|dissimilarity index|index) ?(.*)$"
)
_SIGNATURE_VERSION = re.compile(r"^\d+(\.\d+)+")


class MalformedPatch(PatchError):
    """The patch cannot be read even leniently (a hunk header that is not one, a hunk
    with no file); the message names the line."""


@dataclass
class Hunk:
    header: str
    """The header as written (without its line ending), for messages."""
    old_start: int
    old_count: int
    """As the header says (1 when the header omits it)."""
    new_start: int
    new_count: int
    section: str = ""
    lines: list[str] = field(default_factory=list)
    """Body lines, prefix (``' '``, ``'-'``, ``'+'``) and text, no line ending."""
    endings: list[str] = field(default_factory=list)
    """Each body line's ending as written: ``"\\n"``, ``"\\r\\n"`` or ``""``."""
    no_newline_old: bool = False
    no_newline_new: bool = False
    blank_context: int = 0
    """Empty body lines read as context lines (their leading space lost)."""

    @property
    def body_old(self) -> int:
        return sum(1 for ln in self.lines if ln[0] in " -")

    @property
    def body_new(self) -> int:
        return sum(1 for ln in self.lines if ln[0] in " +")

    @property
    def recounted(self) -> bool:
        return (self.old_count, self.new_count) != (self.body_old, self.body_new)

    def counted_header(self) -> str:
        return (
            f"@@ -{self.old_start},{self.body_old} +{self.new_start},{self.body_new} @@"
            f"{self.section}"
        )

    def old_lines(self) -> list[str]:
        return [ln[1:] for ln in self.lines if ln[0] in " -"]


@dataclass
class FilePatch:
    old_raw: str | None = None
    """The old name as written (``a/x.py``, ``x.py``); None for ``/dev/null``."""
    new_raw: str | None = None
    git: bool = False
    """Opened by a ``diff --git`` line."""
    has_names: bool = False
    """Had its ``---``/``+++`` pair."""
    extended: list[tuple[str, str]] = field(default_factory=list)
    binary: bool = False
    hunks: list[Hunk] = field(default_factory=list)

    def old_path(self, strip: int) -> str | None:
        return strip_path(self.old_raw, strip)

    def new_path(self, strip: int) -> str | None:
        return strip_path(self.new_raw, strip)

    def path(self, strip: int) -> str:
        return self.new_path(strip) or self.old_path(strip) or "?"

    def header_paths(self) -> list[str]:
        """Names from rename/copy headers (git writes them without prefixes)."""
        return [v for k, v in self.extended if k.startswith(("rename ", "copy "))]

    def mode(self, which: str) -> str | None:
        for key, value in self.extended:
            if key == which:
                return value.strip()
        return None


@dataclass
class ParsedPatch:
    files: list[FilePatch]
    crlf: bool = False
    """Some lines of the patch end in CRLF."""

    def raw_names(self) -> list[str]:
        names: list[str] = []
        for f in self.files:
            names += [n for n in (f.old_raw, f.new_raw) if n is not None]
            names += f.header_paths()
        return names


def strip_path(raw: str | None, strip: int) -> str | None:
    if raw is None or raw == DEV_NULL:
        return None
    parts = raw.split("/")
    return "/".join(parts[strip:]) if len(parts) > strip else raw


def _unquote(name: str) -> str:
    """A C-quoted git name (``"a/x\\ty"``) as text; other names as they are."""
    if len(name) >= 2 and name[0] == name[-1] == '"':
        body = name[1:-1].encode("latin-1", "backslashreplace").decode("unicode_escape")
        return body.encode("latin-1", "replace").decode("utf-8", "replace")
    return name


def _name(rest: str) -> str | None:
    """The file name of a ``---``/``+++`` line: up to a tab (diff's timestamp)."""
    name = rest.split("\t")[0].rstrip()
    name = _unquote(name)
    if name == DEV_NULL:
        return None
    return name


def _git_names(rest: str) -> tuple[str | None, str | None]:
    """``diff --git a/x b/x`` → (``a/x``, ``b/x``); quoted or with spaces as best we can."""
    if rest.startswith('"'):
        m = re.match(r'^("(?:[^"\\]|\\.)*") (.*)$', rest)
        if m:
            return _unquote(m.group(1)), _unquote(m.group(2))
    half = (len(rest) - 1) // 2
    if len(rest) % 2 == 1 and rest[half] == " " and rest[:half][2:] == rest[half + 1 :][2:]:
        return rest[:half], rest[half + 1 :]
    parts = rest.split(" ")
    if len(parts) == 2:
        return parts[0], parts[1]
    return None, None


def _split(text: str) -> list[tuple[str, str]]:
    """(line without ending, ending) pairs, splitting on ``\\n`` only."""
    out: list[tuple[str, str]] = []
    parts = text.split("\n")
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        if last and not part:
            break
        if part.endswith("\r"):
            out.append((part[:-1], "\r\n" if not last else "\r"))
        else:
            out.append((part, "" if last else "\n"))
    return out


def _is_file_start(lines: list[tuple[str, str]], i: int) -> bool:
    return (
        lines[i][0].startswith("--- ")
        and i + 1 < len(lines)
        and lines[i + 1][0].startswith("+++ ")
        and (i + 2 >= len(lines) or lines[i + 2][0].startswith(("@@ ", "diff --git ")))
    )


def parse(text: str) -> ParsedPatch:
    """Every file section and hunk of ``text``; MalformedPatch names the line when a
    hunk header cannot be read or a hunk has no file."""
    lines = _split(text)
    files: list[FilePatch] = []
    cur: FilePatch | None = None
    crlf = any(end == "\r\n" for _, end in lines)
    i = 0
    while i < len(lines):
        s = lines[i][0]
        if s.startswith("diff --git "):
            old, new = _git_names(s[len("diff --git ") :])
            cur = FilePatch(old_raw=old, new_raw=new, git=True)
            files.append(cur)
            i += 1
            continue
        if cur is not None and cur.git and not cur.hunks and not cur.has_names:
            m = _EXTENDED.match(s)
            if m:
                cur.extended.append((m.group(1), _unquote(m.group(2))))
                if m.group(1) in ("new file mode",):
                    cur.old_raw = None
                if m.group(1) in ("deleted file mode",):
                    cur.new_raw = None
                i += 1
                continue
        if cur is not None and (s == "GIT binary patch" or s.startswith("Binary files ")):
            cur.binary = True
            i += 1
            continue
        if _is_file_start(lines, i):
            if cur is None or cur.hunks or cur.has_names or not cur.git:
                cur = FilePatch()
                files.append(cur)
            cur.old_raw = _name(s[4:])
            cur.new_raw = _name(lines[i + 1][0][4:])
            cur.has_names = True
            i += 2
            continue
        if s.startswith("@@ ") or s == "@@":
            if cur is None or not (cur.has_names or cur.git):
                raise MalformedPatch(f"line {i + 1}: a hunk before any file header: {s!r}")
            hunk, i = _read_hunk(lines, i)
            cur.hunks.append(hunk)
            continue
        i += 1  # leading garbage: a commit message, a mail header, a signature
    return ParsedPatch(files=files, crlf=crlf)


def _read_hunk(lines: list[tuple[str, str]], i: int) -> tuple[Hunk, int]:
    s = lines[i][0]
    m = _HUNK_HEADER.match(s)
    if not m:
        raise MalformedPatch(f"line {i + 1}: unreadable hunk header {s!r}")
    a, b, c, d, section = m.groups()
    hunk = Hunk(
        header=s,
        old_start=int(a),
        old_count=1 if b is None else int(b),
        new_start=int(c),
        new_count=1 if d is None else int(d),
        section=section,
    )
    i += 1
    body: list[tuple[str, str]] = []
    consistent_end: int | None = None  # where the header's counts are used up
    old = new = 0
    if (hunk.old_count, hunk.new_count) == (0, 0):
        consistent_end = 0
    while i < len(lines):
        s, end = lines[i]
        if s.startswith(("@@ ", "diff --git ")) or s == "@@" or _is_file_start(lines, i):
            break
        if s == "-- " and (i + 1 >= len(lines) or _SIGNATURE_VERSION.match(lines[i + 1][0])):
            break  # git format-patch's signature
        if s.startswith("\\"):
            body.append((s, end))
            if consistent_end is not None and consistent_end == len(body) - 1:
                consistent_end = len(body)
            i += 1
            continue
        if s == "" or s[0] in " -+":
            body.append((s, end))
            kind = s[0] if s else " "
            old += kind in " -"
            new += kind in " +"
            if (old, new) == (hunk.old_count, hunk.new_count):
                consistent_end = len(body)
            i += 1
            continue
        break
    if consistent_end is not None and all(not s for s, _ in body[consistent_end:]):
        body = body[:consistent_end]  # trailing blank lines past a header that was right
    elif consistent_end != len(body):
        while body and not body[-1][0]:
            body.pop()  # a header that was wrong: blank lines at the end are not the hunk's
    for s, end in body:
        if s.startswith("\\"):
            if not hunk.lines:
                continue
            prev = hunk.lines[-1][0]
            hunk.no_newline_old |= prev in " -"
            hunk.no_newline_new |= prev in " +"
            hunk.endings[-1] = ""
            continue
        if not s:
            hunk.blank_context += 1
            s = " "
        hunk.lines.append(s)
        hunk.endings.append(end)
    return hunk, i


def _safe_rel(rel: str | None) -> bool:
    if not rel or "\x00" in rel:
        return False
    pure = PurePosixPath(rel)
    return not pure.is_absolute() and ".." not in pure.parts and not rel.startswith("~")


def detect_strip(parsed: ParsedPatch, root: Path) -> int:
    """``-p1`` or ``-p0``: the level at which more of the named paths exist in the
    checkout; on a tie, 1 for git-style patches (``diff --git`` or all names under
    ``a/``/``b/``), else 0."""
    score = {0: 0, 1: 0}
    for f in parsed.files:
        for level in (0, 1):
            for rel in (f.old_path(level), f.new_path(level)):
                if rel is not None and _safe_rel(rel) and os.path.lexists(root / rel):
                    score[level] += 1
                    break
    if score[0] != score[1]:
        return 0 if score[0] > score[1] else 1
    names = [n for f in parsed.files for n in (f.old_raw, f.new_raw) if n is not None]
    git_style = any(f.git for f in parsed.files) or (
        bool(names) and all(n.startswith(("a/", "b/")) for n in names)
    )
    return 1 if git_style else 0


def _file_ending(path: Path) -> tuple[str | None, bool]:
    """The file's line ending (``"\\r\\n"``, ``"\\n"`` or None when mixed or unknown) and
    whether its text ends without a newline."""
    try:
        data = path.read_bytes() if path.is_file() and not path.is_symlink() else b""
    except OSError:
        return None, False
    if not data:
        return None, False
    crlf = data.count(b"\r\n")
    lf = data.count(b"\n") - crlf
    ending = "\r\n" if crlf and not lf else "\n" if lf and not crlf else None
    return ending, not data.endswith(b"\n")


@dataclass
class Canonical:
    text: str
    recounted: list[str] = field(default_factory=list)
    """``path hunk N: <written header> → <counted header>``, one per hunk whose counts were wrong."""
    normalized: list[str] = field(default_factory=list)
    """What else was changed to make the patch readable, in words."""
    unsupported: list[str] = field(default_factory=list)
    """Parts only ``git apply`` can apply (binary, renames, modes, files without hunks):
    ``patch`` would apply the rest and call it done, so its rung is skipped."""


def _unsupported(f: FilePatch, path: str) -> str | None:
    if f.binary:
        return f"{path}: a binary patch"
    keys = {key for key, _ in f.extended}
    if keys & {"rename from", "rename to", "copy from", "copy to"}:
        return f"{path}: a rename or copy"
    if keys & {"old mode", "new mode"}:
        return f"{path}: a mode change"
    if f.mode("new file mode") not in (None, "100644"):
        return f"{path}: a new file with mode {f.mode('new file mode')}"
    if not f.hunks:
        return f"{path}: a change with no hunk (an empty file, a mode)"
    return None


def canonical(parsed: ParsedPatch, root: Path, strip: int) -> Canonical:
    """The patch written again for ``patch -p<strip>``: the same names, headers counted
    from the bodies, line endings matched to each file in the checkout, the missing
    ``\\ No newline`` marker added where the file's last line has none. Binary files and
    git's extended headers are left out: only ``git apply`` can apply those."""
    out: list[str] = []
    result = Canonical(text="")
    for f in parsed.files:
        path = f.path(strip)
        why = _unsupported(f, path)
        if why:
            result.unsupported.append(why)
        if not f.hunks:
            continue
        old_rel = f.old_path(strip)
        ending, no_final_newline = (
            _file_ending(root / old_rel) if old_rel and _safe_rel(old_rel) else (None, False)
        )
        out.append(f"--- {f.old_raw or DEV_NULL}\n")
        out.append(f"+++ {f.new_raw or DEV_NULL}\n")
        converted = 0
        for n, hunk in enumerate(f.hunks, 1):
            if hunk.recounted:
                result.recounted.append(f"{path} hunk {n}: {hunk.header} → {hunk.counted_header()}")
            if hunk.blank_context:
                result.normalized.append(
                    f"{path} hunk {n}: {hunk.blank_context} empty line(s) read as context"
                )
            out.append(hunk.counted_header() + "\n")
            no_old, no_new = hunk.no_newline_old, hunk.no_newline_new
            reaches_end = old_rel is not None and _reaches_end(hunk, root / old_rel)
            if no_final_newline and reaches_end and not no_old:
                no_old = no_new = True  # and the new text keeps the file's style
                result.normalized.append(
                    f"{path} hunk {n}: the file has no final newline; marker added"
                )
            last_old = max((j for j, ln in enumerate(hunk.lines) if ln[0] in " -"), default=-1)
            last_new = max((j for j, ln in enumerate(hunk.lines) if ln[0] in " +"), default=-1)
            for j, line in enumerate(hunk.lines):
                end = hunk.endings[j] or "\n"
                if ending is not None and end != ending:
                    end = ending
                    converted += 1
                out.append(line + end)
                if (j == last_old and no_old) or (j == last_new and no_new):
                    if out[-1].endswith("\r\n"):
                        out[-1] = out[-1][:-2] + "\n"
                    out.append(NO_NEWLINE + "\n")
        if converted:
            name = "CRLF" if ending == "\r\n" else "LF"
            result.normalized.append(
                f"{path}: {converted} line ending(s) changed to the file's {name}"
            )
    result.text = "".join(out)
    return result


def _reaches_end(hunk: Hunk, path: Path) -> bool:
    """Whether the hunk's old lines are the file's last lines (compared without endings)."""
    try:
        text = path.read_text(errors="replace") if path.is_file() else ""
    except OSError:
        return False
    flines = [ln.rstrip("\r") for ln in text.split("\n")]
    if flines and flines[-1] == "" and text.endswith("\n"):
        flines.pop()
    old = hunk.old_lines()
    return bool(old) and [ln.rstrip("\r") for ln in flines[-len(old) :]] == old


def _show(line: str, limit: int = 60) -> str:
    return repr(line if len(line) <= limit else line[:limit] + "…")


def diagnose(hunk: Hunk, n: int, path: str, file: Path | None) -> str:
    """Why hunk ``n`` of ``path`` does not apply, in one line naming the hunk."""
    head = f"hunk {n} of {path} ({hunk.header})"
    if file is None or not file.is_file():
        return f"{head}: the file does not exist in the checkout"
    try:
        text = file.read_text(errors="replace")
    except OSError as exc:
        return f"{head}: the file cannot be read: {exc}"
    flines = [ln.rstrip("\r") for ln in text.split("\n")]
    if flines and flines[-1] == "":
        flines.pop()
    old = [(ln[0], ln[1:].rstrip("\r")) for ln in hunk.lines if ln[0] in " -"]
    start = max(hunk.old_start - 1, 0)
    best, score = _closest(flines, [want for _, want in old], start)
    where = ""
    if score and best != start:
        where = (
            f"the closest match ({score} of {len(old)} lines) is at line {best + 1} "
            f"(offset {best - start}), where "
        )
        start = best
    for j, (kind, want) in enumerate(old):
        at = start + j
        if at >= len(flines):
            return (
                f"{head}: {where}the patch expects {_show(want)} at line {at + 1}, "
                f"but the file has only {len(flines)} lines"
            )
        if flines[at] != want:
            what = "a removed line" if kind == "-" else "context"
            tail = "" if score else f"; none of the hunk's {len(old)} old lines is in the file"
            return (
                f"{head}: {where}{what} does not match the file at line {at + 1}: "
                f"the patch has {_show(want)}, the file {_show(flines[at])}{tail}"
            )
    return f"{head}: rejected by every rung, though its lines match at line {start + 1}"


def _closest(flines: list[str], old: list[str], start: int) -> tuple[int, int]:
    """The position where most of ``old`` matches ``flines`` (the nearest to ``start``
    on a tie) and how many lines match there; big files are only looked at ``start``."""

    def score(pos: int) -> int:
        return sum(
            1 for j, want in enumerate(old) if pos + j < len(flines) and flines[pos + j] == want
        )

    if not old or len(flines) * len(old) > 2_000_000:
        return start, score(start)
    best, best_score = start, score(start)
    for pos in range(max(len(flines) - len(old) + 1, 0)):
        sc = score(pos)
        if sc > best_score or (sc == best_score and abs(pos - start) < abs(best - start)):
            best, best_score = pos, sc
    return best, best_score
