"""Facts about the git repository in the current directory, for CLI defaults.

Every function returns None rather than failing: outside a repository, or
without git installed, the user simply has to give the value as a flag.
"""

from __future__ import annotations

import os
from pathlib import Path


def git(
    *args: str, cwd: str | os.PathLike[str] | None = None, user_config: bool = False
) -> str | None:
    """Output of ``git ARGS`` stripped, or None if git fails or is missing
    (run by :func:`prtrace.git.run`; ``user_config`` for the developer's settings)."""
    from prtrace.git import GitError, run

    try:
        result = run(
            *args, cwd=cwd, check=False, timeout=10, user_config=user_config, errors="replace"
        )
    except GitError:
        return None
    out = result.stdout.strip()
    return out if result.ok and out else None


def repository(cwd: str | os.PathLike[str] | None = None) -> str | None:
    """The ``origin`` remote's URL, else the repository's top-level directory."""
    url = git("remote", "get-url", "origin", cwd=cwd)
    if url:
        return url
    top = git("rev-parse", "--show-toplevel", cwd=cwd)
    return str(Path(top).resolve()) if top else None


def commit(cwd: str | os.PathLike[str] | None = None) -> str | None:
    return git("rev-parse", "HEAD", cwd=cwd)


def branch(cwd: str | os.PathLike[str] | None = None) -> str | None:
    """The checked-out branch; None on a detached HEAD."""
    name = git("rev-parse", "--abbrev-ref", "HEAD", cwd=cwd)
    return None if name in (None, "HEAD") else name


def user_email(cwd: str | os.PathLike[str] | None = None) -> str | None:
    """The developer's ``user.email``, from their own (global) git configuration too."""
    return git("config", "user.email", cwd=cwd, user_config=True)


def user_name(cwd: str | os.PathLike[str] | None = None) -> str | None:
    return git("config", "user.name", cwd=cwd, user_config=True)
