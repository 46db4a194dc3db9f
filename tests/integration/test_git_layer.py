"""The one git layer (``prtrace.git``): its fixed environment, its one error, and the
one "working tree → patch" that ``record stop``, ``prtrace replay`` and QA share.

Every test works on real repositories made in a temporary folder; every patch is
checked by applying it with ``git apply`` to a fresh clone at the commit.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from prtrace import git
from prtrace.errors import GitError, PrtraceError
from prtrace.events import Edit, FileCreated, FileMoved
from prtrace.hashing import text_hash
from prtrace.patches import make_patch
from prtrace.replay import replay
from prtrace.trace import Developer, Task, Trace

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
BINARY = bytes(range(256)) * 4


def sh(repo: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """The test's own git, isolated from this machine's configuration."""
    env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
    return subprocess.run(
        ["git", "-c", "user.email=t@example.com", "-c", "user.name=T", *args],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        check=check,
    )


def write(root: Path, files: dict[str, str | bytes]) -> None:
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)


def make_repo(path: Path, files: dict[str, str | bytes]) -> str:
    path.mkdir(parents=True)
    sh(path, "init", "-q", "-b", "main")
    write(path, files)
    sh(path, "add", "-A")
    sh(path, "commit", "-qm", "base")
    return sh(path, "rev-parse", "HEAD").stdout.strip()


BASE = {
    ".gitignore": "*.log\nbuild/\n",
    "a.txt": "one\ntwo\nthree\n",
    "old.py": "def f():\n    return 1\n" * 20,
    "gone.txt": "to be deleted\n",
    "data.bin": BINARY,
}


@pytest.fixture
def repo(tmp_path: Path) -> tuple[Path, str]:
    return tmp_path / "repo", make_repo(tmp_path / "repo", BASE)


def change_everything(root: Path) -> None:
    """Every kind of change: modified, renamed, deleted, new, binary, ignored."""
    write(
        root,
        {
            "a.txt": "one\n2\nthree\n",
            "fresh.txt": "new file\n",
            "data.bin": BINARY[::-1],
            "img.bin": b"\x89PNG\x00\x01" + BINARY,
            "debug.log": "ignored\n",
            "build/out.o": b"\x00ignored",
        },
    )
    (root / "new").mkdir()
    (root / "old.py").rename(root / "new" / "place.py")
    (root / "gone.txt").unlink()


def tracked_files(root: Path) -> dict[str, bytes]:
    """The files git would see: everything except .git and the ignored ones."""
    listed = sh(root, "ls-files", "--cached", "--others", "--exclude-standard").stdout.split()
    return {rel: (root / rel).read_bytes() for rel in listed if (root / rel).is_file()}


def applied_at(commit_repo: Path, commit: str, patch: str, where: Path) -> Path:
    """A fresh clone at ``commit`` with ``patch`` applied by ``git apply``."""
    subprocess.run(
        ["git", "clone", "-q", "--no-checkout", str(commit_repo), str(where)],
        check=True,
        capture_output=True,
    )
    sh(where, "checkout", "-q", "--detach", commit)
    (where.parent / "p.diff").write_text(patch, errors="surrogateescape")
    sh(where, "apply", "--check", str(where.parent / "p.diff"))
    sh(where, "apply", str(where.parent / "p.diff"))
    return where


# --- working tree → patch ------------------------------------------------------------


def test_patch_holds_every_change_and_applies_at_the_commit(repo, tmp_path):
    root, commit = repo
    change_everything(root)
    patch = git.working_tree_patch(root, commit)

    # Rename policy: a move is a deletion and an addition of the whole file.
    assert "rename from" not in patch and "similarity index" not in patch
    assert "diff --git a/old.py b/old.py\ndeleted file mode 100644" in patch
    assert "diff --git a/new/place.py b/new/place.py\nnew file mode 100644" in patch
    assert "diff --git a/gone.txt b/gone.txt\ndeleted file mode" in patch
    assert "diff --git a/fresh.txt b/fresh.txt\nnew file mode" in patch
    assert patch.count("GIT binary patch") == 2  # data.bin changed, img.bin new
    assert "debug.log" not in patch and "build/" not in patch

    clone = applied_at(root, commit, patch, tmp_path / "clone")
    assert tracked_files(clone) == tracked_files(root)
    for absent in ("old.py", "gone.txt", "debug.log", "build/out.o"):
        assert not (clone / absent).exists()


def test_the_developers_index_is_untouched_and_does_not_matter(repo):
    root, commit = repo
    change_everything(root)
    clean = git.working_tree_patch(root, commit)

    sh(root, "add", "a.txt")  # half a fix staged on purpose
    sh(root, "add", "-N", "fresh.txt")  # intent to add
    sh(root, "add", "-f", "debug.log")  # an ignored file forced into the index
    index = root / ".git" / "index"
    before = hashlib.sha256(index.read_bytes()).hexdigest()
    staged = sh(root, "diff", "--cached", "--name-only").stdout

    assert git.working_tree_patch(root, commit) == clean  # staging changes nothing
    assert hashlib.sha256(index.read_bytes()).hexdigest() == before
    assert sh(root, "diff", "--cached", "--name-only").stdout == staged
    assert not list((root / ".git").glob("*index*.lock"))


def test_a_racily_clean_file_is_still_seen(tmp_path):
    """The temporary index starts from the repository's, for its stat data; git then
    trusts an entry whose size and mtime match the file unless the entry is as new
    as the index file itself ("racy git"). So the copy must keep the index's mtime.
    Here a change keeps the file's size and mtime (and git is told to ignore ctime
    and inode): only that rule can catch it."""
    root = tmp_path / "repo"
    root.mkdir()
    sh(root, "init", "-q", "-b", "main")
    sh(root, "config", "core.trustctime", "false")
    sh(root, "config", "core.checkStat", "minimal")
    write(root, {"data.bin": BINARY})
    stamp = 1_700_000_000 * 10**9
    os.utime(root / "data.bin", ns=(stamp, stamp))
    sh(root, "add", "-A")
    sh(root, "commit", "-qm", "base")
    os.utime(root / ".git" / "index", ns=(stamp, stamp))  # written in the file's second
    (root / "data.bin").write_bytes(BINARY[::-1])  # same size...
    os.utime(root / "data.bin", ns=(stamp, stamp))  # ...same mtime
    # git itself sees it (without rewriting its index, which would smudge the entry)
    assert "data.bin" in sh(root, "--no-optional-locks", "status", "--porcelain").stdout
    assert "GIT binary patch" in git.working_tree_patch(root, "HEAD")


def test_no_changes_is_an_empty_patch(repo):
    root, commit = repo
    assert git.working_tree_patch(root, commit) == ""
    (root / "debug.log").write_text("only an ignored file\n")
    assert git.working_tree_patch(root, commit) == ""


def test_a_conflicted_index_is_not_used(repo, tmp_path):
    root, commit = repo
    sh(root, "checkout", "-q", "-b", "other")
    write(root, {"a.txt": "one\nOTHER\nthree\n"})
    sh(root, "commit", "-qam", "other")
    sh(root, "checkout", "-q", "main")
    write(root, {"a.txt": "one\nMAIN\nthree\n"})
    sh(root, "commit", "-qam", "main")
    assert sh(root, "merge", "other", check=False).returncode != 0  # a conflict, markers on disk
    assert sh(root, "ls-files", "-u").stdout  # unmerged entries in the index
    patch = git.working_tree_patch(root, commit)
    assert "<<<<<<<" in patch and sh(root, "ls-files", "-u").stdout
    sh(root, "add", "a.txt")  # resolved in the index: the patch is the same
    assert git.working_tree_patch(root, commit) == patch
    applied_at(root, commit, patch, tmp_path / "clone")


def test_subdirectory_and_base_by_name(repo):
    root, commit = repo
    write(root, {"sub/x.txt": "x\n", "a.txt": "changed\n"})
    assert git.working_tree_patch(root / "sub", "main") == git.working_tree_patch(root, commit)


def test_configuration_does_not_change_the_patch(repo, tmp_path, monkeypatch):
    root, commit = repo
    change_everything(root)
    expected = git.working_tree_patch(root, commit)
    # The repository's own settings that would change how a diff is written...
    for key, value in [
        ("diff.renames", "copies"),
        ("diff.noprefix", "true"),
        ("diff.mnemonicPrefix", "true"),
        ("color.ui", "always"),
        ("diff.relative", "true"),
        ("diff.submodule", "log"),
        ("diff.external", "false"),
    ]:
        sh(root, "config", key, value)
    # ...and the user's global configuration, which is not read at all.
    user = tmp_path / "user.gitconfig"
    user.write_text(
        "[diff]\n\tnoprefix = true\n[core]\n\texcludesFile = /nonexistent\n[alias]\n\tdiff = log\n"
    )
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(user))
    assert git.working_tree_patch(root, commit) == expected


def test_the_developers_global_ignore_file_applies_with_user_ignores(repo, tmp_path, monkeypatch):
    root, commit = repo
    ignore = tmp_path / "my-ignores"
    ignore.write_text("*.swp\n")
    user = tmp_path / "user.gitconfig"
    user.write_text(f"[core]\n\texcludesFile = {ignore}\n")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(user))
    write(root, {"a.txt": "fixed\n", ".a.txt.swp": "editor junk\n"})
    assert git.user_excludes_file(root) == str(ignore)
    assert ".a.txt.swp" in git.working_tree_patch(root, commit)  # QA, replay: repo rules only
    recorded = git.working_tree_patch(root, commit, user_ignores=True)  # record stop
    assert ".a.txt.swp" not in recorded and "a/a.txt" in recorded


def test_not_a_commit_or_not_a_repository(repo, tmp_path):
    root, _ = repo
    with pytest.raises(GitError, match="'f00d' is not a commit") as bad:
        git.working_tree_patch(root, "f00d")
    assert bad.value.returncode != 0 and bad.value.exit_code == 1
    (tmp_path / "plain").mkdir()
    with pytest.raises(GitError, match="not a git repository"):
        git.working_tree_patch(tmp_path / "plain", "HEAD")


# --- the three users agree --------------------------------------------------------------


def _edit(i: int, path: str, before: str, after: str) -> Edit:
    return Edit(
        id=f"e{i}",
        t=T0,
        session_id="s",
        path=path,
        op="replace",
        patch_unified=make_patch(before, after, path),
        before_hash=text_hash(before),
        after_hash=text_hash(after),
    )


def test_record_stop_replay_and_qa_make_the_same_patch(repo, tmp_path):
    from prtrace.qa.checkout import checkout
    from prtrace.qa.replay import rebuild_patch

    root, commit = repo
    a_after = "one\n2\nthree\n"
    events = [
        _edit(1, "a.txt", BASE["a.txt"], a_after),
        FileMoved(id="e2", t=T0, session_id="s", path="new/place.py", from_path="old.py"),
        FileCreated(
            id="e3",
            t=T0,
            session_id="s",
            path="fresh.txt",
            patch_unified=make_patch("", "new file\n", "fresh.txt"),
            hash=text_hash("new file\n"),
        ),
    ]
    # What the developer's tree looked like, as `record stop` sees it.
    write(root, {"a.txt": a_after, "fresh.txt": "new file\n"})
    (root / "new").mkdir()
    (root / "old.py").rename(root / "new" / "place.py")
    recorded = git.working_tree_patch(root, commit, user_ignores=True)

    trace = Trace(
        trace_id="tr_git",
        created_at=T0,
        developer=Developer(id="d"),
        task=Task(repository=str(root), commit=commit),
        events=events,
    )
    replayed = replay(trace, tmp_path / "ws")
    assert replayed.ok, replayed.disagreement
    with checkout(
        str(root), commit, mirrors_dir=tmp_path / "mirrors", work_dir=tmp_path / "work"
    ) as tree:
        rebuilt = rebuild_patch(tree, events)
    assert recorded == replayed.diff() == rebuilt
    assert "rename from" not in recorded


# --- the runner ---------------------------------------------------------------------------


def test_git_error_carries_command_status_and_stderr(repo):
    root, _ = repo
    with pytest.raises(GitError) as info:
        git.run("rev-parse", "--verify", "no-such-ref", cwd=root)
    err = info.value
    assert isinstance(err, PrtraceError)
    assert err.command == ["git", "rev-parse", "--verify", "no-such-ref"]
    assert err.returncode == 128 and "fatal:" in err.stderr and err.cwd == str(root)
    assert str(err).startswith("git rev-parse --verify no-such-ref failed (128): fatal:")
    assert not git.run("rev-parse", "--verify", "no-such-ref", cwd=root, check=False).ok


def test_missing_git_is_a_git_error(repo, monkeypatch):
    root, _ = repo
    monkeypatch.setenv("PATH", str(root))  # no git on it
    with pytest.raises(GitError, match="git is not installed") as info:
        git.run("status", cwd=root, check=False)
    assert info.value.returncode is None


def test_the_callers_git_variables_and_hooks_do_not_leak_in(repo, tmp_path, monkeypatch):
    root, commit = repo
    other = tmp_path / "other"
    make_repo(other, {"x": "x\n"})
    # As if prtrace ran from another repository's hook.
    monkeypatch.setenv("GIT_DIR", str(other / ".git"))
    monkeypatch.setenv("GIT_WORK_TREE", str(other))
    monkeypatch.setenv("GIT_INDEX_FILE", str(other / ".git" / "index"))
    assert git.run("rev-parse", "HEAD", cwd=root).stdout.strip() == commit
    hooks = root / ".git" / "hooks"
    (hooks / "post-checkout").write_text(f"#!/bin/sh\ntouch {tmp_path}/hook-ran\n")
    (hooks / "post-checkout").chmod(0o755)
    git.run("checkout", "-q", "-b", "side", cwd=root)
    assert not (tmp_path / "hook-ran").exists()
    assert git.run("symbolic-ref", "--short", "HEAD", cwd=root).stdout.strip() == "side"


def test_user_configuration_only_when_asked(repo, tmp_path, monkeypatch):
    root, _ = repo
    user = tmp_path / "user.gitconfig"
    user.write_text("[user]\n\temail = dev@example.com\n")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(user))
    assert not git.run("config", "user.email", cwd=root, check=False).ok
    found = git.run("config", "user.email", cwd=root, user_config=True)
    assert found.stdout.strip() == "dev@example.com"


def test_messages_are_untranslated_and_nothing_prompts(repo, monkeypatch):
    root, _ = repo
    monkeypatch.setenv("LANG", "de_DE.UTF-8")
    monkeypatch.setenv("LC_ALL", "de_DE.UTF-8")
    monkeypatch.setenv("LANGUAGE", "de")
    err = git.run("rev-parse", "--verify", "nope", cwd=root, check=False).stderr
    assert "fatal: Needed a single revision" in err
    # A clone that would ask for credentials fails at once instead of waiting on a prompt.
    if shutil.which("git"):
        done = git.run(
            "ls-remote", "https://127.0.0.1:9/nothing.git", cwd=root, check=False, timeout=60
        )
        assert not done.ok
