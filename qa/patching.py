"""Applying a trace's final patch to the checkout, through a ladder.

SWE-bench-style harnesses learned that one tool is not enough: ``git apply``
is strict (and reports offsets), ``git apply --recount`` forgives hunk headers
whose counts are wrong, ``git apply --3way`` rescues patches whose context
drifted when the preimage blobs are known, and ``patch --fuzz`` rescues
hand-made diffs. Each try starts from a pristine worktree, so a half applied
try never leaks into the next.

Patches as people and language models write them (wrong counts, no ``a/``/``b/``
prefixes, CRLF, a missing ``\\ No newline`` marker) are read by the lenient
parser of :mod:`prtrace.qa.lenient`; the strip level comes from which paths exist
in the checkout. Before anything is applied, every path the lenient parse finds
(and every path git's own parse finds, asked with ``git apply --numstat`` before
each git rung) is checked: absolute, climbing out with ``..``, touching ``.git/``,
going through a symlink that points out of the repository, or creating such a
symlink is refused outright. ``patch`` never reads the patch as given: it gets
the canonical text the lenient parser wrote from what it checked.
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from prtrace.errors import PatchError, PathRefused
from prtrace.paths import resolve_inside
from prtrace.qa import lenient
from prtrace.qa.checkout import Worktree, git
from prtrace.qa.lenient import DEV_NULL, MalformedPatch, ParsedPatch
from prtrace.trace import HunkResult, PatchApplication

__all__ = [
    "MalformedPatch",
    "PatchFailed",
    "Inspected",
    "apply_patch",
    "check_patch",
    "inspect_patch",
    "strip_level",
]

# git apply: "Hunk #1 succeeded at 12 (offset 2 lines)."; patch(1) puts the fuzz
# first: "Hunk #1 succeeded at 19 with fuzz 2 (offset 2 lines)."
_HUNK_REPORT = re.compile(r"Hunk #(\d+) (succeeded|FAILED|ignored) at (\d+)([^.\n]*)")
_FILE_REPORT = re.compile(r"^(?:Checking patch (.+?)\.\.\.|patching file (.+)|checking file (.+))$")
_OFFSET = re.compile(r"offset (-?\d+) lines?")
_FUZZ = re.compile(r"with fuzz (\d+)")
_SYMLINK_MODE = "120000"
_MAX_PROBLEMS = 6


class PatchFailed(PatchError):
    """No rung of the ladder applied the patch; ``application`` says what was tried."""

    def __init__(self, message: str, application: PatchApplication) -> None:
        super().__init__(message)
        self.application = application


@dataclass
class Inspected:
    """A patch read leniently and checked against a checkout."""

    parsed: ParsedPatch
    strip: int
    paths: list[str]


def strip_level(patch: str, root: Path | None = None) -> int:
    """1 for ``a/``/``b/`` prefixed (git-style) patches, else 0; with ``root``, the
    level at which the named paths exist there."""
    parsed = lenient.parse(patch)
    return lenient.detect_strip(parsed, root) if root is not None else _convention(parsed)


def _convention(parsed: ParsedPatch) -> int:
    names = [n for f in parsed.files for n in (f.old_raw, f.new_raw) if n is not None]
    return 1 if names and all(n.startswith(("a/", "b/")) for n in names) else 0


def inspect_patch(patch: str, root: Path) -> Inspected:
    """Read the patch leniently, find its strip level and check every path.

    MalformedPatch when not even the lenient parser can read it (the message names
    the line); PathRefused for anything unsafe.
    """
    parsed = lenient.parse(patch)
    for raw in parsed.raw_names():
        pure = PurePosixPath(raw)
        if raw != DEV_NULL and (pure.is_absolute() or raw.startswith("~")):
            raise PathRefused(f"absolute path {raw!r}")
        if ".." in pure.parts:
            raise PathRefused(f"path {raw!r} climbs out of the repository")
    strip = lenient.detect_strip(parsed, root)
    paths: list[str] = []
    for f in parsed.files:
        for rel in (f.old_path(strip), f.new_path(strip)):
            if rel is not None:
                resolve_inside(root, rel)
                paths.append(rel)
        for rel in f.header_paths():
            resolve_inside(root, rel)
            paths.append(rel)
        _check_symlink(f, strip)
    if not paths and patch.strip():
        raise PathRefused("the patch names no file")
    return Inspected(parsed=parsed, strip=strip, paths=sorted(set(paths)))


def check_patch(patch: str, root: Path) -> list[str]:
    """The repository paths the patch touches; PathRefused for anything unsafe,
    MalformedPatch for a patch not even the lenient parser reads."""
    return inspect_patch(patch, root).paths


def _check_symlink(f: lenient.FilePatch, strip: int) -> None:
    """A patch that creates or retargets a symlink must point it inside the repository."""
    index_mode = (f.mode("index") or "").rpartition(" ")[2]
    if _SYMLINK_MODE not in (f.mode("new file mode"), f.mode("new mode"), index_mode):
        return
    added = [ln[1:] for h in f.hunks for ln in h.lines if ln.startswith("+")]
    if not added:
        raise PathRefused("a symlink whose target cannot be read from the patch")
    link = f.new_path(strip) or ""
    target = added[0]
    if PurePosixPath(target).is_absolute():
        raise PathRefused(f"symlink {link!r} points to absolute {target!r}")
    depth = 0
    for part in (PurePosixPath(link).parent / target).parts:
        depth += -1 if part == ".." else (0 if part == "." else 1)
        if depth < 0:
            raise PathRefused(f"symlink {link!r} points out of the repository")


@dataclass
class _Rung:
    method: str
    cmd: list[str]
    """``git`` arguments (run by :func:`prtrace.qa.checkout.git`), or a ``patch`` command line."""
    is_git: bool = True
    recounts: bool = False
    canonical: bool = False


@dataclass
class _Report:
    status: str
    line: int
    offset: int = 0
    fuzz: int = 0


@dataclass
class _Outcome:
    ok: bool
    output: str
    reports: dict[tuple[str, int], _Report] = field(default_factory=dict)
    rejected: int = 0
    files_seen: set[str] = field(default_factory=set)
    reversed_files: set[str] = field(default_factory=set)


def _parse_reports(
    output: str,
) -> tuple[dict[tuple[str, int], _Report], set[str], set[str], int]:
    reports: dict[tuple[str, int], _Report] = {}
    seen: set[str] = set()
    reversed_: set[str] = set()
    current = ""
    rejected = 0
    for line in output.splitlines():
        fm = _FILE_REPORT.match(line.strip())
        if fm:
            current = next(g for g in fm.groups() if g).strip().strip("'\"")
            seen.add(current)
            continue
        if "Reversed (or previously applied) patch detected" in line:
            reversed_.add(current)
            continue
        hm = _HUNK_REPORT.search(line)
        if not hm:
            continue
        num, status, at, rest = hm.groups()
        if status == "FAILED":
            rejected += 1
        offset, fuzz = _OFFSET.search(rest), _FUZZ.search(rest)
        reports[(current, int(num))] = _Report(
            status=status,
            line=int(at),
            offset=int(offset.group(1)) if offset else 0,
            fuzz=int(fuzz.group(1)) if fuzz else 0,
        )
    m = re.search(r"(\d+) out of \d+ hunks? (?:FAILED|ignored)", output)
    if m:
        rejected = max(rejected, int(m.group(1)))
    return reports, seen, reversed_, rejected


def _run(rung: _Rung, cwd: Path) -> _Outcome:
    if rung.is_git:
        proc = git(*rung.cmd, cwd=cwd, check=False, timeout=120)
        returncode, output = proc.returncode, proc.stdout + proc.stderr
    else:
        # patch(1) is not git; it gets the same untranslated messages (we parse them).
        done = subprocess.run(
            rung.cmd,
            cwd=cwd,
            env={**os.environ, "LC_ALL": "C"},
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            errors="replace",
            timeout=120,
        )
        returncode, output = done.returncode, done.stdout + done.stderr
    reports, seen, reversed_, rejected = _parse_reports(output)
    ok = returncode == 0 and rejected == 0 and not reversed_
    return _Outcome(ok, output, reports, rejected, seen, reversed_)


def _git_paths_check(rung: _Rung, root: Path) -> str | None:
    """The paths git's own parse finds, each checked (PathRefused); or git's complaint
    when it cannot parse the patch at all (the rung would fail the same way)."""
    args = [
        "apply",
        "--numstat",
        "-z",
        *[a for a in rung.cmd[1:] if a.startswith(("-p", "--recount"))],
    ]
    proc = git(*args, rung.cmd[-1], cwd=root, check=False, timeout=60)
    if proc.returncode != 0:
        return (
            proc.stdout + proc.stderr
        ).strip() or f"git apply --numstat exited {proc.returncode}"
    for field_ in proc.stdout.split("\0"):
        name = field_.split("\t")[-1] if "\t" in field_ else field_
        if name:
            resolve_inside(root, name)
    return None


def _hunk_results(
    ins: Inspected, outcome: _Outcome | None, rung: _Rung | None, applied: bool, root: Path
) -> list[HunkResult]:
    results: list[HunkResult] = []
    for f in ins.parsed.files:
        path = f.path(ins.strip)
        old_rel = f.old_path(ins.strip)
        for n, hunk in enumerate(f.hunks, 1):
            rep = outcome.reports.get((path, n)) if outcome else None
            if rep is None and outcome and old_rel:
                rep = outcome.reports.get((old_rel, n))
            res = HunkResult(path=path, hunk=n, header=hunk.header)
            if rung is not None and (rung.recounts or rung.canonical) and hunk.recounted:
                res.recounted = hunk.counted_header()
            # patch(1) names each file it worked on but only the hunks that moved or failed
            names = {path, old_rel}
            seen = (
                outcome is not None
                and rung is not None
                and not rung.is_git
                and bool(names & outcome.files_seen)
                and not names & outcome.reversed_files
            )
            if applied or (rep.status == "succeeded" if rep is not None else seen):
                res.applied = True
                res.line = rep.line if rep else hunk.old_start
                res.offset, res.fuzz = (rep.offset, rep.fuzz) if rep else (0, 0)
            else:
                file = root / old_rel if old_rel else None
                res.problem = lenient.diagnose(hunk, n, path, file)
                if outcome is not None and names & outcome.reversed_files:
                    res.problem += (
                        "; the file already has what the patch adds (reversed or applied already)"
                    )
            results.append(res)
    return results


def _summary(hunks: list[HunkResult], normalized: list[str]) -> str | None:
    bits = []
    for h in hunks:
        what = []
        if h.offset:
            what.append(f"offset {h.offset}")
        if h.fuzz:
            what.append(f"fuzz {h.fuzz}")
        if h.recounted:
            what.append(f"recounted {h.header} → {h.recounted}")
        if what and h.applied:
            bits.append(f"{h.path} hunk {h.hunk} at {h.line} ({', '.join(what)})")
    return "; ".join(bits + normalized) or None


def apply_patch(tree: Worktree, patch: str) -> PatchApplication:
    """Apply ``patch`` to the worktree through the ladder; return how.

    Raises PathRefused or MalformedPatch (nothing applied), or PatchFailed (worktree
    reset; its message names each hunk that did not apply and why).
    """
    if not patch.strip():
        return PatchApplication(
            method="empty", applied=True, detail="empty patch: nothing to apply"
        )
    ins = inspect_patch(patch, tree.path)
    strip = ins.strip
    if not patch.endswith("\n"):
        patch += "\n"
    canon = lenient.canonical(ins.parsed, tree.path, strip)
    recounted = any(h.recounted for f in ins.parsed.files for h in f.hunks)
    with tempfile.TemporaryDirectory(prefix="prtrace-patch-") as tmp:
        original = Path(tmp, "final.patch")
        original.write_text(patch)
        canonical = Path(tmp, "canonical.patch")
        canonical.write_text(canon.text)
        common = ["apply", "--verbose", "--whitespace=nowarn", f"-p{strip}"]
        ladder = [
            _Rung("git apply", [*common, str(original)]),
            _Rung("git apply --recount", [*common, "--recount", str(original)], recounts=True),
            _Rung(
                "git apply --3way", [*common, "--3way", "--recount", str(original)], recounts=True
            ),
            _Rung(
                "patch --fuzz=3",
                [
                    "patch",
                    "--batch",
                    "--forward",
                    "--fuzz=3",
                    f"-p{strip}",
                    "--no-backup-if-mismatch",
                    "--reject-file=-",
                    "-i",
                    str(canonical),
                ],
                is_git=False,
                canonical=True,
            ),
        ]
        if not recounted:
            ladder.pop(1)  # the same as plain git apply
        log: list[str] = []
        tried: list[str] = []
        last: tuple[_Rung, _Outcome] | None = None
        for rung in ladder:
            if rung.canonical and (canon.unsupported or not canon.text):
                why = "; ".join(canon.unsupported) or "nothing to apply"
                log.append(f"{rung.method}: skipped, only git apply can apply {why}")
                continue
            tried.append(rung.method)
            if rung.is_git:
                complaint = _git_paths_check(rung, tree.path)
                if complaint is not None:
                    log.append(f"{rung.method}: {complaint[-800:]}")
                    continue
            outcome = _run(rung, tree.path)
            if outcome.ok and rung.method == "git apply --3way" and _has_conflicts(tree):
                outcome.ok = False
                outcome.output += "\nconflict markers left by the 3-way merge"
            if outcome.ok:
                hunks = _hunk_results(ins, outcome, rung, True, tree.path)
                normalized = canon.normalized if rung.canonical else []
                return PatchApplication(
                    method=rung.method,
                    applied=True,
                    rejected_hunks=0,
                    detail=_summary(hunks, normalized),
                    strip=strip,
                    tried=tried,
                    hunks=hunks,
                    normalized=normalized,
                )
            log.append(f"{rung.method}: {outcome.output.strip()[-800:]}")
            last = (rung, outcome)
            tree.reset()
    rung_, outcome_ = last if last else (None, None)
    hunks = _hunk_results(ins, outcome_, rung_, False, tree.path)
    failed = [h for h in hunks if not h.applied]
    application = PatchApplication(
        method=None,
        applied=False,
        rejected_hunks=outcome_.rejected if outcome_ else len(failed),
        detail="\n".join(log)[-4000:],
        strip=strip,
        tried=tried,
        hunks=hunks,
        normalized=canon.normalized,
    )
    raise PatchFailed(_failure_message(failed, tried, log), application)


def _failure_message(failed: list[HunkResult], tried: list[str], log: list[str]) -> str:
    rungs = ", ".join(tried) or "no rung"
    problems = [
        h.problem for h in failed if h.problem and "though its lines match" not in h.problem
    ]
    if not problems:
        problems = [h.problem for h in failed if h.problem]
    if not problems:
        tail = log[-1] if log else "no rung could run"
        return f"the patch does not apply ({rungs} tried): {tail[-300:]}"
    shown = problems[:_MAX_PROBLEMS]
    more = len(problems) - len(shown)
    return (
        f"the patch does not apply ({rungs} tried): "
        + "; ".join(shown)
        + (f"; and {more} more hunks" if more > 0 else "")
    )


def _has_conflicts(tree: Worktree) -> bool:
    proc = git("diff", "--name-only", "--diff-filter=U", cwd=tree.path, check=False)
    return bool(proc.stdout.strip())
