"""``artifacts.final_patch``: the task's commit → the working tree, as ``git apply`` wants it.

QA applies the final patch to the repository at the task's commit, so it must
hold every change the developer left: tracked files changed or deleted, and new
files that are not ignored (an ignored build output is not part of a fix).
Binary files are included as ``GIT binary patch`` hunks (``--binary``).

The developer's own index must not change (they may have staged half a fix on
purpose), so git works on a *temporary* index (``GIT_INDEX_FILE``): read the
commit's tree into it, ``git add -A`` the working tree into it (git's ignore
rules apply), and diff it against the commit. Only new blob objects are left
behind in ``.git/objects``, which git's gc cleans up as usual.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path


class FinalPatchError(Exception):
    pass


def _git(root: Path, env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        ["git", *args], cwd=root, env=env, capture_output=True, timeout=300, check=False
    )
    if done.returncode != 0:
        raise FinalPatchError(
            f"git {' '.join(args)}: {done.stderr.decode('utf-8', 'replace').strip()}"
        )
    return done.stdout.decode("utf-8", "surrogateescape")


def final_patch(root: Path, commit: str) -> str:
    """The diff from ``commit`` to the working tree of ``root`` (empty if none)."""
    with tempfile.TemporaryDirectory(prefix="prtrace-index-") as tmp:
        env = dict(os.environ)
        env["GIT_INDEX_FILE"] = str(Path(tmp) / "index")
        top = Path(_git(root, env, "rev-parse", "--show-toplevel").strip())
        _git(top, env, "rev-parse", "--verify", "--quiet", f"{commit}^{{commit}}")
        _git(top, env, "read-tree", commit)
        _git(top, env, "add", "-A", "--", ".")
        return _git(top, env, "diff", "--cached", "--binary", "--no-color", "--no-ext-diff",
                    "--no-renames", commit)
