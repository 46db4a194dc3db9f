"""QA pieces that need git but no Docker: the patch ladder, path refusal, edit replay,
the mirror cache (parsers and verdicts are in tests/unit/test_qa_units.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from prtrace.errors import PathRefused, ReplayError
from prtrace.events import Edit
from prtrace.hashing import text_hash
from prtrace.patches import make_patch
from prtrace.qa.checkout import MirrorCache, checkout
from prtrace.qa.patching import PatchFailed, apply_patch, check_patch
from prtrace.qa.replay import rebuild_patch
from tests.support.qa_support import diff_of, git, make_repo

# --- checkout and patches -----------------------------------------------------------

CODE = "".join(f"line {i}\n" for i in range(1, 40))


@pytest.fixture
def tree(tmp_path: Path):
    repo, commit = make_repo(tmp_path / "repo", {"src/m.txt": CODE, "README": "hi\n"})
    with checkout(
        str(repo), commit, mirrors_dir=tmp_path / "mirrors", work_dir=tmp_path / "work"
    ) as t:
        yield t


def test_checkout_uses_the_mirror_and_removes_the_worktree(tmp_path: Path):
    repo, first = make_repo(tmp_path / "repo", {"a": "1\n"})
    mirrors = tmp_path / "mirrors"
    with checkout(str(repo), first, mirrors_dir=mirrors, work_dir=tmp_path / "w") as t:
        assert (t.path / "a").read_text() == "1\n"
        held = t.path
    assert not held.exists()
    (repo / "a").write_text("2\n")
    git(repo, "commit", "-qam", "second")
    second = git(repo, "rev-parse", "HEAD")
    # The mirror lacks the new commit: it is fetched once, then found locally.
    mirror, full = MirrorCache(mirrors).ensure(str(repo), second)
    assert full == second
    with checkout(str(repo), second[:10], mirrors_dir=mirrors, work_dir=tmp_path / "w") as t:
        assert (t.path / "a").read_text() == "2\n"
    assert len(list(mirrors.glob("*.git"))) == 1


@pytest.mark.parametrize(
    ("patch", "why"),
    [
        ("--- a/../evil\n+++ b/../evil\n@@ -0,0 +1 @@\n+x\n", "climbs out"),
        ("--- /dev/null\n+++ b/.git/hooks/pre-commit\n@@ -0,0 +1 @@\n+x\n", ".git"),
        ("--- /etc/passwd\n+++ /etc/passwd\n@@ -1 +1 @@\n-a\n+b\n", "absolute"),
        (
            "diff --git a/ln b/ln\nnew file mode 120000\n--- /dev/null\n+++ b/ln\n"
            "@@ -0,0 +1 @@\n+../../outside\n\\ No newline at end of file\n",
            "symlink",
        ),
    ],
)
def test_unsafe_patches_are_refused(tree, patch, why):
    with pytest.raises(PathRefused, match=why):
        check_patch(patch, tree.path)


def test_path_through_a_symlink_out_is_refused(tree, tmp_path: Path):
    (tree.path / "out").symlink_to(tmp_path)
    patch = "--- /dev/null\n+++ b/out/pwned\n@@ -0,0 +1 @@\n+x\n"
    with pytest.raises(PathRefused, match="symlink"):
        check_patch(patch, tree.path)
    assert not (tmp_path / "pwned").exists()


def test_ladder_git_apply_then_fuzz_then_failure(tree):
    clean = make_patch(CODE, CODE.replace("line 20\n", "LINE 20\n"), "src/m.txt")
    app = apply_patch(tree, clean)
    assert (app.method, app.applied) == ("git apply", True)
    tree.reset()
    # Context that drifted (line 18 differs) and moved (offset): only fuzz applies it.
    drifted = CODE.replace("line 18\n", "line eighteen\n")
    fuzzy = make_patch(drifted, drifted.replace("line 20\n", "LINE 20\n"), "src/m.txt")
    (tree.path / "src/m.txt").write_text("new first\n" * 2 + CODE)
    git(tree.path, "commit", "-qam", "shift")
    tree.commit = git(tree.path, "rev-parse", "HEAD")
    app = apply_patch(tree, fuzzy)
    assert app.method == "patch --fuzz=3" and app.applied
    assert "offset 2" in app.detail and "fuzz" in app.detail
    assert "LINE 20" in (tree.path / "src/m.txt").read_text()
    tree.reset()
    hopeless = make_patch("other\ntext\n", "other\nTEXT\n", "src/m.txt")
    with pytest.raises(PatchFailed) as info:
        apply_patch(tree, hopeless)
    assert info.value.application.applied is False
    assert info.value.application.rejected_hunks == 1
    assert git(tree.path, "status", "--porcelain") == ""  # reset after the last try


def _edit(i: int, path: str, before: str, after: str) -> Edit:
    return Edit(
        id=f"e{i}",
        t=datetime.now(UTC),
        session_id="s",
        path=path,
        op="replace",
        patch_unified=make_patch(before, after, path),
        before_hash=text_hash(before),
        after_hash=text_hash(after),
    )


def test_rebuild_patch_from_edits_and_hash_mismatch(tree):
    v1 = CODE.replace("line 3\n", "line three\n")
    v2 = v1.replace("line 30\n", "line thirty\n")
    events = [
        _edit(1, "src/m.txt", CODE, v1),
        _edit(2, "src/m.txt", v1, v2),
        _edit(3, "src/new.py", "", "x = 1\n"),
    ]
    patch = rebuild_patch(tree, events)
    assert git(tree.path, "status", "--porcelain") == ""
    assert "+line three" in patch and "+line thirty" in patch and "src/new.py" in patch
    apply_patch(tree, patch)
    assert (tree.path / "src/m.txt").read_text() == v2
    tree.reset()
    with pytest.raises(ReplayError, match="e2.*before_hash"):
        rebuild_patch(tree, [events[0], _edit(2, "src/m.txt", CODE, v1)])


def test_replay_refuses_paths_out(tree):
    with pytest.raises(PathRefused):
        rebuild_patch(tree, [_edit(1, "../x.txt", "", "x\n")])


def test_diff_of_helper_round_trips(tmp_path: Path):
    repo, _ = make_repo(tmp_path / "r", {"a.py": "x = 1\n"})
    patch = diff_of(repo, {"a.py": "x = 2\n"})
    assert "-x = 1" in patch and (repo / "a.py").read_text() == "x = 1\n"
