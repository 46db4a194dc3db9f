"""Workspace-relative paths that must stay inside the workspace.

Trace events and patches name files by workspace-relative paths, and both
replay (:mod:`prtrace.replay`) and QA's patch application write to those files.
A path that climbs out with ``..``, is absolute, touches ``.git`` or goes
through a symlink that points out of the tree is refused by the one check here,
so replaying a trace and applying its patch refuse exactly the same paths.
"""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath

from prtrace.errors import PathRefused


def resolve_inside(root: Path, rel: str) -> Path:
    """``root/rel`` if it stays inside ``root`` (following symlinks), else PathRefused."""
    if not rel or "\x00" in rel:
        raise PathRefused(f"empty or NUL path {rel!r}")
    pure = PurePosixPath(rel)
    if pure.is_absolute() or rel.startswith("~"):
        raise PathRefused(f"absolute path {rel!r}")
    if ".." in pure.parts:
        raise PathRefused(f"path {rel!r} climbs out of the repository")
    if ".git" in pure.parts:
        raise PathRefused(f"path {rel!r} touches .git")
    root = Path(os.path.realpath(root))
    target = root.joinpath(*pure.parts)
    # realpath follows every symlink on the way, including a final one.
    real = Path(os.path.realpath(target))
    if real != root and root not in real.parents:
        raise PathRefused(f"path {rel!r} goes through a symlink out of the repository")
    if ".git" in real.relative_to(root).parts:
        raise PathRefused(f"path {rel!r} resolves into .git")
    return target
