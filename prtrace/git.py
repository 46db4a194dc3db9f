"""The one way prtrace runs git, and the one "working tree → patch".

Every git command prtrace runs — the CLI's defaults, the recorder's reflog
reader and final patch, replay's checkout, QA's mirrors, worktrees and patch
ladder, the demo's sample repository — goes through :func:`run`. It gives git
one fixed environment, so the answer depends on the repository and not on
whoever runs prtrace:

* no system or global configuration (``GIT_CONFIG_NOSYSTEM``,
  ``GIT_CONFIG_GLOBAL=/dev/null``): a user's aliases, ``diff.*`` options,
  signing, ``url.*.insteadOf`` or credential helpers do not change what is
  checked out or how a diff is written. The repository's own ``.git/config``
  still applies, as it does for git itself;
* no hooks and no fsmonitor (``-c core.hooksPath=/dev/null -c
  core.fsmonitor=false``): a command of ours never runs a program a
  repository names;
* none of the caller's ``GIT_*`` variables (``GIT_DIR``, ``GIT_INDEX_FILE``,
  ``GIT_WORK_TREE``… leak in when prtrace runs from a git hook), except the few
  that say how to reach a server or where discovery stops
  (:data:`INHERITED`);
* no prompts (``GIT_TERMINAL_PROMPT=0``, ssh in batch mode unless the
  operator set ``GIT_SSH_COMMAND``, stdin closed), no pager, and English
  messages (``LC_ALL=C``) so that what we parse and show is stable.

Callers add only what they mean: ``env`` (a temporary ``GIT_INDEX_FILE``, a
fixed author and date), ``config`` (QA's ``safe.directory``), or
``user_config=True`` for the questions that are about the developer rather
than the repository (their ``user.email``, their global ignore file).

Failures are one type, :class:`~prtrace.errors.GitError`, with the command,
git's exit status and its stderr.

:func:`working_tree_patch` is the one definition of a trace's final patch:
``record stop`` (of the developer's workspace), ``prtrace replay`` (of the
replayed workspace) and QA (of the worktree the edits were replayed on) all
call it, so their patches agree byte for byte.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from prtrace.errors import GitError

__all__ = [
    "DIFF_OPTIONS",
    "GitError",
    "Result",
    "run",
    "user_excludes_file",
    "working_tree_patch",
]

DEFAULT_TIMEOUT = 600.0
"""Seconds a git command may take (a clone of a large repository, say)."""

_ENV = {
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_TERMINAL_PROMPT": "0",
    "GIT_PAGER": "cat",
    "PAGER": "cat",
    "GIT_OPTIONAL_LOCKS": "0",  # reading a developer's repository never takes index.lock
    "LC_ALL": "C",
}
_CONFIG = {
    "core.hooksPath": os.devnull,
    "core.fsmonitor": "false",
}
_BATCH_SSH = "ssh -o BatchMode=yes"

INHERITED = frozenset(
    {
        "GIT_CEILING_DIRECTORIES",
        "GIT_DISCOVERY_ACROSS_FILESYSTEM",
        "GIT_SSH",
        "GIT_SSH_COMMAND",
        "GIT_SSH_VARIANT",
        "GIT_SSL_CAINFO",
        "GIT_SSL_CAPATH",
        "GIT_TRACE",
        "GIT_TRACE2",
        "GIT_TRACE2_EVENT",
        "GIT_TRACE_PACKET",
        "GIT_TRACE_CURL",
    }
)
"""The caller's ``GIT_*`` variables that are kept: how to reach servers, where
repository discovery stops, and git's own tracing (for debugging)."""

_USER_CONFIG_VARS = ("GIT_CONFIG_GLOBAL", "GIT_CONFIG_NOSYSTEM")


@dataclass(frozen=True)
class Result:
    """A finished git command. ``stdout`` is decoded losslessly (``surrogateescape``
    unless the caller chose otherwise), ``stderr`` as readable text."""

    command: list[str]
    returncode: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0


def _environment(env: Mapping[str, str] | None, user_config: bool) -> dict[str, str]:
    keep = INHERITED | (frozenset(_USER_CONFIG_VARS) if user_config else frozenset())
    merged = {k: v for k, v in os.environ.items() if not k.startswith("GIT_") or k in keep}
    fixed = dict(_ENV)
    if user_config:
        for name in _USER_CONFIG_VARS:
            fixed.pop(name)
    merged.update(fixed)
    if "GIT_SSH_COMMAND" not in merged and "GIT_SSH" not in merged:
        merged["GIT_SSH_COMMAND"] = _BATCH_SSH
    merged.update(env or {})
    return merged


def run(
    *args: str,
    cwd: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
    config: Mapping[str, str] | None = None,
    input: str | bytes | None = None,  # noqa: A002 - subprocess's name
    timeout: float | None = DEFAULT_TIMEOUT,
    check: bool = True,
    user_config: bool = False,
    errors: str = "surrogateescape",
) -> Result:
    """Run ``git ARGS`` in ``cwd`` with the fixed environment; the finished command.

    ``env`` adds variables, ``config`` adds ``-c key=value`` settings.
    ``user_config`` lets the user's global and system configuration in (for
    questions about the developer). ``errors`` decodes stdout (``replace`` for
    text shown to people, the default keeps any byte).

    Raises :class:`GitError` when git exits non-zero (unless ``check`` is
    False), and always when git cannot be started or times out.
    """
    settings = {**_CONFIG, **(config or {})}
    command = ["git", *(f for k, v in settings.items() for f in ("-c", f"{k}={v}")), *args]
    shown = ["git", *args]
    data = input.encode("utf-8", "surrogateescape") if isinstance(input, str) else input
    where = os.fspath(cwd) if cwd is not None else None
    try:
        proc = subprocess.run(
            command,
            cwd=cwd,
            env=_environment(env, user_config),
            input=data,
            stdin=subprocess.DEVNULL if data is None else None,
            capture_output=True,
            timeout=timeout,
            check=False,
        )
    except FileNotFoundError as exc:
        missing = "git is not installed" if exc.filename == "git" else str(exc)
        raise GitError(shown, None, missing, cwd=where) from None
    except subprocess.TimeoutExpired:
        raise GitError(shown, None, f"timed out after {timeout:g} s", cwd=where) from None
    except OSError as exc:
        raise GitError(shown, None, str(exc), cwd=where) from None
    result = Result(
        shown,
        proc.returncode,
        proc.stdout.decode("utf-8", errors),
        proc.stderr.decode("utf-8", "replace"),
    )
    if check and not result.ok:
        raise GitError(shown, result.returncode, result.stderr, cwd=where)
    return result


def user_excludes_file(cwd: str | os.PathLike[str] | None = None) -> str | None:
    """The developer's ``core.excludesFile`` as their own git reads it, or None.

    (git's default, ``$XDG_CONFIG_HOME/git/ignore``, applies under :func:`run`
    anyway: only a path set in the user's configuration needs passing on.)
    """
    try:
        found = run(
            "config",
            "--path",
            "--get",
            "core.excludesFile",
            cwd=cwd,
            check=False,
            user_config=True,
            timeout=30,
        )
    except GitError:
        return None
    return found.stdout.strip() or None if found.ok else None


# --- working tree → patch ---------------------------------------------------------------

DIFF_OPTIONS: Sequence[str] = (
    "--binary",
    "--no-renames",
    "--no-color",
    "--no-ext-diff",
    "--no-textconv",
    "--no-relative",
    "--submodule=short",
    "--src-prefix=a/",
    "--dst-prefix=b/",
)
"""How a final patch is written, whatever the repository's ``diff.*`` settings say.

``--binary``: binary files as ``GIT binary patch`` hunks (full blob ids), so they
apply too. ``--no-renames`` is the rename policy: a moved or copied file is the
deletion of the old path and the addition of the new one, in full. Such a
patch applies at the commit with nothing but the commit's own blobs (no
similarity guess, no copy source), ``patch(1)`` and unidiff read every part of
it, every path it touches is a ``---``/``+++`` path that QA's checks see, and
the same working tree always gives the same bytes. The rest pins what a
repository's configuration could change: colour, external diff drivers and
textconv (their output does not apply), ``diff.relative``, ``diff.submodule``
and ``diff.noprefix``/``mnemonicPrefix`` (QA reads ``a/``/``b/`` as ``-p1``).
"""


def working_tree_patch(
    root: str | os.PathLike[str],
    base: str = "HEAD",
    *,
    user_ignores: bool = False,
    config: Mapping[str, str] | None = None,
) -> str:
    """The changes from commit ``base`` to the working tree at ``root``, as a patch
    that ``git apply`` takes at ``base``; empty when there are none.

    What it holds: tracked files changed or deleted, and new files that git
    does not ignore (``.gitignore``, ``.git/info/exclude``, and with
    ``user_ignores`` the developer's ``core.excludesFile``); an ignored build
    output is not part of a fix. It depends only on ``base``, the files and
    the ignore rules, never on what is staged: the repository's own index is
    not read for content and not changed (the developer may have staged half a
    fix on purpose). git works on a temporary index (``GIT_INDEX_FILE``)
    holding ``base``'s tree, ``git add -A`` brings the working tree into it and
    it is diffed against ``base`` with :data:`DIFF_OPTIONS`. The temporary
    index starts as a copy of the repository's, merged to ``base`` with
    ``git read-tree -m`` (a one-way merge keeps the stat data of unchanged
    files, so ``add`` hashes only what changed in a large tree). The copy keeps
    the index file's mtime: git trusts an entry's stat data only when the entry
    is older than its index file, and a fresh mtime would hide a file changed
    in the second it was staged. An index that cannot be merged (a conflict in
    progress) is not copied: ``base``'s tree is read into an empty one. The only trace left is the
    new files' blobs in ``.git/objects``, which git's gc collects as usual.

    ``config`` adds ``-c`` settings (QA's ``safe.directory``). Raises
    :class:`GitError` (``root`` is no repository, ``base`` no commit in it).
    """
    settings = dict(config or {})
    top = run("rev-parse", "--show-toplevel", cwd=root, config=settings).stdout.strip()
    found = run(
        "rev-parse",
        "--verify",
        "--quiet",
        f"{base}^{{commit}}",
        cwd=top,
        config=settings,
        check=False,
    )
    if not found.ok:
        raise GitError(
            ["git", "rev-parse", "--verify", base],
            found.returncode,
            f"{base!r} is not a commit of the repository at {top}",
            cwd=top,
        )
    commit = found.stdout.strip()
    if user_ignores:
        excludes = user_excludes_file(top)
        if excludes:
            settings.setdefault("core.excludesFile", excludes)
    own_index = Path(
        top, run("rev-parse", "--git-path", "index", cwd=top, config=settings).stdout.strip()
    )
    with tempfile.TemporaryDirectory(prefix="prtrace-index-") as tmp:
        index = Path(tmp) / "index"
        env = {"GIT_INDEX_FILE": str(index)}
        seeded = False
        if own_index.is_file():
            shutil.copy2(own_index, index)  # with its mtime: git's racy-file check needs it
            seeded = run(
                "read-tree", "-m", commit, cwd=top, env=env, config=settings, check=False
            ).ok
        if not seeded:
            index.unlink(missing_ok=True)
            run("read-tree", commit, cwd=top, env=env, config=settings)
        run("add", "--all", "--", ":/", cwd=top, env=env, config=settings)
        return run(
            "diff", "--cached", *DIFF_OPTIONS, commit, "--", cwd=top, env=env, config=settings
        ).stdout
