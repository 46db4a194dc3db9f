"""Git activity from git's own record: the reflog of HEAD.

Every commit, amend, cherry-pick, revert and branch switch appends a line to
``.git/logs/HEAD`` (``old new name <email> time zone<TAB>message``), whatever
made it — a terminal, an editor, a GUI. :class:`GitTracker` reads the lines
appended since it last looked and records ``commit_made`` (hash, full message,
files, branch) and ``branch_switched``. Pushes and pull requests are recorded
from the commands that make them (:mod:`prtrace.recorder.terminal.commands`), which also know
whether they failed. The byte offset reached is a spool cursor, stored with
the events, so a restarted daemon neither misses nor repeats a commit; a new
tracker starts at the end of the reflog (history before the session is not
the session's).
"""

from __future__ import annotations

import os
from pathlib import Path

from prtrace import events as ev
from prtrace.git import GitError, run
from prtrace.recorder.pipeline.emitter import EventEmitter

_CURSOR = "git:logs/HEAD"
_COMMITS = ("commit", "cherry-pick", "revert")


def git_dir(root: Path) -> Path | None:
    try:
        out = run("rev-parse", "--absolute-git-dir", cwd=root, timeout=10).stdout.strip()
    except GitError:
        return None
    return Path(out) if out else None


def _git(root: Path, *args: str) -> str:
    """``git ARGS``'s output, or "" if it fails (a commit gone by the time we look)."""
    try:
        return run(*args, cwd=root, timeout=30, errors="replace").stdout
    except GitError:
        return ""


class GitTracker:
    def __init__(self, root: Path, emitter: EventEmitter) -> None:
        self.root = root
        self.emitter = emitter
        folder = git_dir(root)
        self.reflog = folder / "logs" / "HEAD" if folder else None
        self.branch: str | None = None
        """The branch as of the last reflog line read (a commit's branch is the one it
        was made on, not the one checked out when we get to read the line)."""

    def start(self) -> None:
        """A first tracker for this spool starts at the reflog's end."""
        assert self.emitter.spool is not None
        if self.reflog is not None and self.emitter.spool.cursor(_CURSOR) is None:
            self.emitter.set_cursor(_CURSOR, str(self._size()))
            self.emitter.flush()

    def _size(self) -> int:
        try:
            return os.path.getsize(self.reflog) if self.reflog else 0
        except OSError:
            return 0

    def poll(self) -> int:
        """Record what was appended to the reflog; returns how many events."""
        if self.reflog is None or self.emitter.spool is None:
            return 0
        offset = int(self.emitter.spool.cursor(_CURSOR) or 0)
        size = self._size()
        if size < offset:
            offset = 0  # the reflog was expired or rewritten
        if size == offset:
            return 0
        with open(self.reflog, "rb") as f:
            f.seek(offset)
            data = f.read(size - offset)
        used = data.rfind(b"\n") + 1
        count = 0
        for line in data[:used].decode("utf-8", "replace").splitlines():
            count += self._line(line)
        if used:
            self.emitter.set_cursor(_CURSOR, str(offset + used))
            self.emitter.flush()
        return count

    def _line(self, line: str) -> int:
        head, _, message = line.partition("\t")
        parts = head.split(" ")
        if len(parts) < 4:
            return 0
        old, new = parts[0], parts[1]
        try:
            t = float(parts[-2])
        except ValueError:
            return 0
        action, _, rest = message.partition(": ")
        kind = action.split(" ")[0]
        if kind == "checkout" and rest.startswith("moving from "):
            source, _, target = rest[len("moving from ") :].partition(" to ")
            self.branch = target
            if source == target:
                return 0
            self.emitter.emit(
                ev.BranchSwitched, t, to_branch=target, from_branch=source or None, hash=new
            )
            return 1
        if kind in _COMMITS and new != old:
            body = _git(self.root, "log", "-1", "--format=%B", new).rstrip("\n") or rest
            files = _git(
                self.root, "diff-tree", "--no-commit-id", "--name-only", "-r", "--root", new
            ).splitlines()
            branch = self.branch or (
                _git(self.root, "symbolic-ref", "--short", "-q", "HEAD").strip() or None
            )
            self.emitter.emit(ev.CommitMade, t, hash=new, message=body, files=files, branch=branch)
            return 1
        return 0
