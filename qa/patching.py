"""Applying a trace's final patch to the checkout, through a ladder.

SWE-bench-style harnesses learned that one tool is not enough: ``git apply``
is strict (and reports offsets), ``git apply --3way`` rescues patches whose
context drifted when the preimage blobs are known, and ``patch --fuzz``
rescues hand-made diffs. Each try starts from a pristine worktree, so a half
applied try never leaks into the next.

Before anything is applied the patch is checked with ``unidiff`` (and the git
extended headers read directly): paths that are absolute, climb out with
``..``, touch ``.git/``, go through a symlink that points out of the
repository, or create such a symlink are refused outright. ``git apply`` would
refuse some of these itself, ``patch`` not all of them.
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import unidiff

from prtrace.errors import PatchError, PathRefused
from prtrace.paths import resolve_inside
from prtrace.qa.checkout import Worktree, git
from prtrace.trace import PatchApplication

# git apply: "Hunk #1 succeeded at 12 (offset 2 lines)."; patch(1) puts the fuzz
# first: "Hunk #1 succeeded at 19 with fuzz 2 (offset 2 lines)."
_HUNK_REPORT = re.compile(r"Hunk #(\d+) (succeeded|FAILED) at (\d+)([^.\n]*)")
_OFFSET = re.compile(r"offset (-?\d+) lines?")
_FUZZ = re.compile(r"with fuzz (\d+)")
_GIT_PATH_HEADERS = re.compile(r"^(rename from|rename to|copy from|copy to) (.+)$", re.M)
_SYMLINK_MODE = "120000"


class PatchFailed(PatchError):
    """No rung of the ladder applied the patch; ``application`` says what was tried."""

    def __init__(self, message: str, application: PatchApplication) -> None:
        super().__init__(message)
        self.application = application


def _strip(path: str | None, strip: int) -> str | None:
    if path is None or path == "/dev/null":
        return None
    parts = path.split("/")
    return "/".join(parts[strip:]) if len(parts) > strip else path


def strip_level(patch: str) -> int:
    """1 for ``a/``/``b/`` prefixed (git-style) patches, else 0."""
    heads = re.findall(r"^(?:---|\+\+\+) (\S+)", patch, re.M)
    heads = [h for h in heads if h != "/dev/null"]
    return 1 if heads and all(h.startswith(("a/", "b/")) for h in heads) else 0


def check_patch(patch: str, root: Path) -> list[str]:
    """The repository paths the patch touches; PathRefused for anything unsafe.

    Parses with unidiff (a patch unidiff cannot parse is refused too: ``patch``
    might still guess at it, and a guess is not a verification).
    """
    try:
        parsed = unidiff.PatchSet(patch)
    except unidiff.UnidiffParseError as exc:
        raise PathRefused(f"unparseable patch: {exc}") from exc
    strip = strip_level(patch)
    paths: list[str] = []
    for pf in parsed:
        for raw in (pf.source_file, pf.target_file):
            rel = _strip(raw, strip)
            if rel is not None:
                resolve_inside(root, rel)
                paths.append(rel)
    for _, raw in _GIT_PATH_HEADERS.findall(patch):
        resolve_inside(root, raw.strip())
    _check_symlinks(patch, root, strip)
    if not paths and patch.strip():
        raise PathRefused("the patch names no file")
    return sorted(set(paths))


def _check_symlinks(patch: str, root: Path, strip: int) -> None:
    """A patch that creates a symlink must point it inside the repository."""
    for block in re.split(r"^(?=diff --git )", patch, flags=re.M):
        if not re.search(rf"^new (?:file )?mode {_SYMLINK_MODE}$", block, re.M):
            continue
        target_path = re.search(r"^\+\+\+ (\S+)", block, re.M)
        added = [
            ln[1:] for ln in block.splitlines() if ln.startswith("+") and not ln.startswith("+++")
        ]
        if not target_path or not added:
            raise PathRefused("a symlink whose target cannot be read from the patch")
        link = _strip(target_path.group(1), strip) or ""
        dest = PurePosixPath(link).parent / added[0]
        if PurePosixPath(added[0]).is_absolute():
            raise PathRefused(f"symlink {link!r} points to absolute {added[0]!r}")
        depth = 0
        for part in dest.parts:
            depth += -1 if part == ".." else (0 if part == "." else 1)
            if depth < 0:
                raise PathRefused(f"symlink {link!r} points out of the repository")


@dataclass
class _Try:
    method: str
    cmd: list[str]
    """``git`` arguments (run by :func:`prtrace.qa.checkout.git`), or a ``patch`` command line."""
    is_git: bool = True


@dataclass
class _Outcome:
    ok: bool
    output: str
    offsets: list[str] = field(default_factory=list)
    rejected: int = 0


def _hunk_details(output: str) -> tuple[list[str], int]:
    details, rejected = [], 0
    for num, status, line, rest in _HUNK_REPORT.findall(output):
        if status == "FAILED":
            rejected += 1
            details.append(f"hunk {num} rejected at {line}")
            continue
        offset, fuzz = _OFFSET.search(rest), _FUZZ.search(rest)
        bits = [f"offset {offset.group(1)}"] if offset else []
        bits += [f"fuzz {fuzz.group(1)}"] if fuzz else []
        if bits:
            details.append(f"hunk {num} at {line} ({', '.join(bits)})")
    m = re.search(r"(\d+) out of \d+ hunks? (?:FAILED|ignored)", output)
    if m:
        rejected = max(rejected, int(m.group(1)))
    return details, rejected


def _run(step: _Try, cwd: Path) -> _Outcome:
    if step.is_git:
        proc = git(*step.cmd, cwd=cwd, check=False, timeout=120)
        returncode, output = proc.returncode, proc.stdout + proc.stderr
    else:
        # patch(1) is not git; it gets the same untranslated messages (we parse them).
        done = subprocess.run(
            step.cmd,
            cwd=cwd,
            env={**os.environ, "LC_ALL": "C"},
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            errors="replace",
            timeout=120,
        )
        returncode, output = done.returncode, done.stdout + done.stderr
    details, rejected = _hunk_details(output)
    return _Outcome(returncode == 0 and rejected == 0, output, details, rejected)


def apply_patch(tree: Worktree, patch: str) -> PatchApplication:
    """Apply ``patch`` to the worktree through the ladder; return how.

    Raises PathRefused (nothing applied) or PatchFailed (worktree reset).
    """
    if not patch.strip():
        return PatchApplication(
            method="empty", applied=True, detail="empty patch: nothing to apply"
        )
    check_patch(patch, tree.path)
    if not patch.endswith("\n"):
        patch += "\n"
    strip = strip_level(patch)
    with tempfile.NamedTemporaryFile("w", suffix=".patch", delete=False) as f:
        f.write(patch)
        patch_file = f.name
    ladder = [
        _Try("git apply", ["apply", "--verbose", "--whitespace=nowarn", f"-p{strip}", patch_file]),
        _Try(
            "git apply --3way",
            ["apply", "--verbose", "--3way", "--whitespace=nowarn", f"-p{strip}", patch_file],
        ),
        _Try(
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
                patch_file,
            ],
            is_git=False,
        ),
    ]
    log: list[str] = []
    last: _Outcome | None = None
    try:
        for step in ladder:
            outcome = _run(step, tree.path)
            if outcome.ok and step.method == "git apply --3way" and _has_conflicts(tree):
                outcome.ok = False
                outcome.output += "\nconflict markers left by the 3-way merge"
            if outcome.ok:
                return PatchApplication(
                    method=step.method,
                    applied=True,
                    rejected_hunks=0,
                    detail="; ".join(outcome.offsets) or None,
                )
            log.append(f"{step.method}: {outcome.output.strip()[-800:]}")
            last = outcome
            tree.reset()
    finally:
        os.unlink(patch_file)
    application = PatchApplication(
        method=None,
        applied=False,
        rejected_hunks=last.rejected if last else 0,
        detail="\n".join(log)[-4000:],
    )
    raise PatchFailed(
        "no method applied the patch (git apply, git apply --3way, patch --fuzz=3)", application
    )


def _has_conflicts(tree: Worktree) -> bool:
    proc = git("diff", "--name-only", "--diff-filter=U", cwd=tree.path, check=False)
    return bool(proc.stdout.strip())
