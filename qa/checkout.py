"""The task's repository at its commit, as a throwaway worktree.

A repository is fetched once into a bare mirror under ``mirrors_dir`` and
fetched again only when a job asks for a commit the mirror lacks; every job
gets a fresh ``git worktree`` (cheap: no object copying) that is removed
afterwards. A file lock per mirror serialises fetches and worktree bookkeeping
between concurrent workers on the same machine.

Worktrees live outside the mirror, in ``work_dir``, and are bind-mounted into
the test container; their ``.git`` file points at the mirror, which is never
mounted, so test code cannot touch the mirror.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from prtrace import git as _git
from prtrace.errors import CheckoutError
from prtrace.replay import repository_source

QA_ENV = {
    # A fixed identity, should a git command want one (no user config is read).
    "GIT_AUTHOR_NAME": "prtrace-qa",
    "GIT_AUTHOR_EMAIL": "qa@prtrace.invalid",
    "GIT_COMMITTER_NAME": "prtrace-qa",
    "GIT_COMMITTER_EMAIL": "qa@prtrace.invalid",
}
"""What QA adds to :func:`prtrace.git.run`'s fixed environment."""

QA_CONFIG = {
    # The worktree is handed to the container's unprivileged user; git run by
    # root on the host must still work in it ("dubious ownership" otherwise).
    "safe.directory": "*",
}
"""The ``-c`` settings QA adds to every git command it runs."""


def git(
    *args: str,
    cwd: Path | None = None,
    check: bool = True,
    input: str | None = None,  # noqa: A002 - subprocess.run's name
    timeout: float = 600,
) -> _git.Result:
    """:func:`prtrace.git.run` with QA's identity and ``safe.directory``; GitError on failure."""
    return _git.run(
        *args, cwd=cwd, check=check, input=input, timeout=timeout, env=QA_ENV, config=QA_CONFIG
    )


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _has_commit(mirror: Path, commit: str) -> str | None:
    proc = git("rev-parse", "--verify", "--quiet", f"{commit}^{{commit}}", cwd=mirror, check=False)
    return proc.stdout.strip() if proc.returncode == 0 else None


class MirrorCache:
    """Bare mirrors of task repositories, one per source, fetched on demand."""

    def __init__(self, mirrors_dir: Path) -> None:
        self.mirrors_dir = Path(mirrors_dir)

    def mirror_path(self, repository: str) -> Path:
        url = repository_source(repository)
        name = re.sub(r"[^A-Za-z0-9._-]+", "_", url.rstrip("/").rsplit("/", 1)[-1])[:40]
        digest = hashlib.sha256(url.encode()).hexdigest()[:16]
        return self.mirrors_dir / f"{name}-{digest}.git"

    def ensure(self, repository: str, commit: str) -> tuple[Path, str]:
        """The mirror holding ``commit``, and the commit's full hash."""
        url = repository_source(repository)
        mirror = self.mirror_path(repository)
        with _locked(mirror.with_suffix(".lock")):
            if not (mirror / "HEAD").exists():
                tmp = Path(tempfile.mkdtemp(prefix=mirror.name + ".", dir=self.mirrors_dir))
                try:
                    git("clone", "--mirror", "--quiet", url, str(tmp / "m.git"))
                    (tmp / "m.git").rename(mirror)
                finally:
                    shutil.rmtree(tmp, ignore_errors=True)
            full = _has_commit(mirror, commit)
            if full is None:
                git("fetch", "--quiet", "--prune", "origin", cwd=mirror)
                full = _has_commit(mirror, commit)
                if full is None:
                    # Servers that allow fetching an unadvertised commit by id.
                    git("fetch", "--quiet", "origin", commit, cwd=mirror, check=False)
                    full = _has_commit(mirror, commit)
            if full is None:
                raise CheckoutError(f"commit {commit} not found in {repository}")
            return mirror, full


class Worktree:
    """A detached worktree of ``commit``: ``path`` is where the job works."""

    def __init__(self, mirror: Path, path: Path, commit: str) -> None:
        self.mirror = mirror
        self.path = path
        self.commit = commit
        self._gitfile = (path / ".git").read_text()

    def restore_gitfile(self) -> None:
        """Rewrite the worktree's ``.git`` file as git made it.

        Test code can write to the worktree, ``.git`` included: pointed at a
        git directory of its own (with ``core.worktree``, hooks or fsmonitor
        in its config) it would steer the next git command the worker runs on
        the host. So every host-side git command here is preceded by this.
        """
        dotgit = self.path / ".git"
        if dotgit.is_dir() and not dotgit.is_symlink():
            shutil.rmtree(dotgit)
        elif dotgit.exists() or dotgit.is_symlink():
            dotgit.unlink()
        dotgit.write_text(self._gitfile)

    def reset(self) -> None:
        """Back to the pristine commit: drop every change and untracked file."""
        self.restore_gitfile()
        git("reset", "--quiet", "--hard", self.commit, cwd=self.path)
        git("clean", "-qfdx", cwd=self.path)

    def remove(self) -> None:
        # No `git worktree remove`: it would read the (test-writable) tree first.
        shutil.rmtree(self.path, ignore_errors=True)
        with _locked(self.mirror.with_suffix(".lock")):
            git("worktree", "prune", cwd=self.mirror, check=False)


@contextlib.contextmanager
def checkout(
    repository: str, commit: str, *, mirrors_dir: Path, work_dir: Path, name: str = "job"
) -> Iterator[Worktree]:
    """A fresh worktree of ``repository`` at ``commit``, removed on exit."""
    cache = MirrorCache(mirrors_dir)
    mirror, full = cache.ensure(repository, commit)
    work_dir = Path(work_dir)
    work_dir.mkdir(parents=True, exist_ok=True)
    path = Path(tempfile.mkdtemp(prefix=re.sub(r"[^\w.-]", "_", name)[:40] + "-", dir=work_dir))
    path.rmdir()  # git worktree add wants to create it
    with _locked(mirror.with_suffix(".lock")):
        git("worktree", "add", "--quiet", "--detach", str(path), full, cwd=mirror)
    tree = Worktree(mirror, path, full)
    try:
        yield tree
    finally:
        tree.remove()
