"""Patches as people and language models write them, applied to real git checkouts
through QA's ladder (qa/patching.py, qa/lenient.py): wrong hunk counts, no ``a/``/``b/``
prefixes, CRLF, a missing ``\\ No newline`` marker, a patch made against a slightly
different commit; one that cannot apply (the message names the hunk) and hostile
malformed ones (still refused)."""

from __future__ import annotations

from pathlib import Path

import pytest

from prtrace.errors import PathRefused
from prtrace.qa.checkout import checkout
from prtrace.qa.patching import MalformedPatch, PatchFailed, apply_patch, check_patch
from tests.support.qa_support import git, make_repo

CODE = "".join(f"line {i}\n" for i in range(1, 40))
CALC = "def add(a, b):\n    return a - b\n\n\ndef mul(a, b):\n    return a * b\n"

# What a model writes: bare paths (-p0) and counts that do not match the body.
WRONG_COUNTS_P0 = """--- src/m.txt
+++ src/m.txt
@@ -4,2 +4,2 @@
 line 4
 line 5
-line 6
+LINE 6
 line 7
 line 8
"""


@pytest.fixture
def repo(tmp_path: Path):
    return make_repo(
        tmp_path / "repo",
        {
            "src/m.txt": CODE,
            "calc.py": CALC,
            "nonl.txt": "alpha\nbeta\ngamma",  # no final newline
            "dos.txt": "one\r\ntwo\r\nthree\r\n",
        },
    )


@pytest.fixture
def tree(repo, tmp_path: Path):
    path, commit = repo
    with checkout(
        str(path), commit, mirrors_dir=tmp_path / "mirrors", work_dir=tmp_path / "work"
    ) as t:
        yield t


def _clean(tree) -> bool:
    return git(tree.path, "status", "--porcelain") == ""


def test_wrong_counts_without_prefixes_pass_the_checks_and_apply(tree):
    # unidiff refused this one ("Hunk is shorter than expected") before any apply.
    assert check_patch(WRONG_COUNTS_P0, tree.path) == ["src/m.txt"]
    app = apply_patch(tree, WRONG_COUNTS_P0)
    assert (app.method, app.applied, app.strip) == ("git apply --recount", True, 0)
    assert app.tried == ["git apply", "git apply --recount"]
    [hunk] = app.hunks
    assert (hunk.path, hunk.hunk, hunk.header) == ("src/m.txt", 1, "@@ -4,2 +4,2 @@")
    assert hunk.applied and hunk.recounted == "@@ -4,5 +4,5 @@"
    assert "recounted @@ -4,2 +4,2 @@ → @@ -4,5 +4,5 @@" in app.detail
    assert "LINE 6\n" in (tree.path / "src/m.txt").read_text()


def test_a_prefixed_path_that_only_exists_bare_is_read_at_p0(tmp_path: Path):
    # a/x.py exists; a -p1 reading would look for x.py, which does not.
    path, commit = make_repo(tmp_path / "r", {"a/x.py": "x = 1\n"})
    patch = "--- a/x.py\n+++ a/x.py\n@@ -1 +1 @@\n-x = 1\n+x = 2\n"
    with checkout(str(path), commit, mirrors_dir=tmp_path / "m", work_dir=tmp_path / "w") as t:
        app = apply_patch(t, patch)
        assert (app.method, app.strip) == ("git apply", 0)
        assert (t.path / "a/x.py").read_text() == "x = 2\n"


def test_crlf_patch_on_an_lf_file(tree):
    patch = WRONG_COUNTS_P0.replace("\n", "\r\n")
    app = apply_patch(tree, patch)
    assert app.applied and app.method == "patch --fuzz=3", app.detail
    assert app.tried == ["git apply", "git apply --recount", "git apply --3way", "patch --fuzz=3"]
    assert any("line ending(s) changed to the file's LF" in n for n in app.normalized)
    assert app.hunks[0].recounted == "@@ -4,5 +4,5 @@"
    text = (tree.path / "src/m.txt").read_bytes()
    assert b"LINE 6\n" in text and b"\r" not in text


def test_lf_patch_on_a_crlf_file(tree):
    # A model read the file without its CRs and wrote its patch so.
    patch = "--- a/dos.txt\n+++ b/dos.txt\n@@ -1,3 +1,3 @@\n one\n-two\n+TWO\n three\n"
    app = apply_patch(tree, patch)
    assert app.applied and app.method == "patch --fuzz=3" and app.strip == 1
    assert any("CRLF" in n for n in app.normalized)
    assert (tree.path / "dos.txt").read_bytes() == b"one\r\nTWO\r\nthree\r\n"


@pytest.mark.parametrize("final_newline", [True, False], ids=["patch-ends-lf", "patch-truncated"])
def test_missing_no_newline_marker(tree, final_newline):
    patch = "--- a/nonl.txt\n+++ b/nonl.txt\n@@ -2,2 +2,2 @@\n beta\n-gamma\n+GAMMA\n"
    if not final_newline:
        patch = patch[:-1]
    app = apply_patch(tree, patch)
    assert app.applied and app.method == "patch --fuzz=3", app.detail
    assert any("no final newline; marker added" in n for n in app.normalized)
    assert (tree.path / "nonl.txt").read_text() == "alpha\nbeta\nGAMMA"


def test_made_against_a_slightly_different_commit(tree):
    # The author's copy: two lines fewer at the top and line 18 worded differently;
    # and the counts are wrong on top of it.
    patch = (
        "--- a/src/m.txt\n+++ b/src/m.txt\n@@ -16,6 +16,6 @@\n"
        " line eighteen\n line 19\n-line 20\n+LINE 20\n line 21\n line 22\n"
    )
    (tree.path / "src/m.txt").write_text("new first\n" * 2 + CODE)
    git(tree.path, "commit", "-qam", "shift")
    tree.commit = git(tree.path, "rev-parse", "HEAD")
    app = apply_patch(tree, patch)
    assert app.applied and app.method == "patch --fuzz=3"
    [hunk] = app.hunks
    assert hunk.offset == 4 and hunk.fuzz >= 1 and hunk.line == 20, hunk
    assert hunk.recounted == "@@ -16,5 +16,5 @@"
    assert "offset 4" in app.detail and "fuzz" in app.detail
    assert "LINE 20\n" in (tree.path / "src/m.txt").read_text()


def test_cannot_apply_says_which_hunk_and_why(tree):
    patch = (
        "--- src/m.txt\n+++ src/m.txt\n"
        "@@ -4,3 +4,3 @@\n line 4\n-line 5\n+LINE 5\n line 6\n"
        "@@ -30,3 +30,4 @@\n line thirty\n-line thirty-one\n+LINE 31\n+extra\n line 32\n"
    )
    with pytest.raises(PatchFailed) as info:
        apply_patch(tree, patch)
    message = str(info.value)
    assert (
        "hunk 2 of src/m.txt (@@ -30,3 +30,4 @@): context does not match the file at line 30"
        in message
    ), message
    assert "'line thirty'" in message and "'line 30'" in message
    assert "hunk 1" not in message
    app = info.value.application
    assert app.applied is False and app.rejected_hunks == 1 and app.strip == 0
    assert [h.applied for h in app.hunks] == [True, False]
    assert app.hunks[1].problem and "line 30" in app.hunks[1].problem
    assert "patch --fuzz=3" in app.tried and _clean(tree)  # reset after the last try


def test_missing_file_is_named(tree):
    patch = "--- lib/gone.py\n+++ lib/gone.py\n@@ -1,2 +1,2 @@\n-a = 1\n+a = 2\n b = 2\n"
    with pytest.raises(PatchFailed, match=r"hunk 1 of lib/gone.py .*does not exist"):
        apply_patch(tree, patch)
    assert _clean(tree)


@pytest.mark.parametrize(
    ("patch", "why"),
    [
        # ../ with bad counts and no prefixes: what unidiff refused to parse at all
        (
            "--- ../outside.txt\n+++ ../outside.txt\n@@ -1,1 +1,9 @@\n-old\n+pwned\n",
            "climbs out",
        ),
        (
            "--- a/../../outside.txt\n+++ b/../../outside.txt\n@@ -1,5 +1,1 @@\n-old\n+pwned\n",
            "climbs out",
        ),
        # A short count hides a second file section from a count-trusting reader.
        (
            "--- src/m.txt\n+++ src/m.txt\n@@ -1,1 +1,1 @@\n-line 1\n+LINE 1\n"
            "--- ../outside.txt\n+++ ../outside.txt\n@@ -0,0 +1,3 @@\n+pwned\n",
            "climbs out",
        ),
        ("--- .git/config\n+++ .git/config\n@@ -1,2 +1,2 @@\n+[core]\n", ".git"),
        ("--- /tmp/x/outside.txt\n+++ /tmp/x/outside.txt\n@@ -1 +1,4 @@\n-a\n+b\n", "absolute"),
        (
            "diff --git a/ln b/ln\nnew file mode 120000\n--- /dev/null\n+++ b/ln\n"
            "@@ -0,0 +1,3 @@\n+../../outside\n",
            "symlink",
        ),
        (
            "diff --git a/ln b/ln\nindex 1111111..2222222 120000\n--- a/ln\n+++ b/ln\n"
            "@@ -1,4 +1,4 @@\n-src\n+../../outside\n",
            "symlink",
        ),
    ],
)
def test_hostile_malformed_patches_are_still_refused(tree, tmp_path: Path, patch, why):
    outside = tree.path.parent / "outside.txt"
    outside.write_text("old\n")
    with pytest.raises(PathRefused, match=why):
        apply_patch(tree, patch)
    assert outside.read_text() == "old\n" and _clean(tree)


def test_bare_path_through_a_symlink_out_is_refused(tree, tmp_path: Path):
    (tree.path / "out").symlink_to(tmp_path)
    patch = "--- out/pwned\n+++ out/pwned\n@@ -0,0 +1,7 @@\n+x\n"
    with pytest.raises(PathRefused, match="symlink"):
        apply_patch(tree, patch)
    assert not (tmp_path / "pwned").exists()


def test_unreadable_hunk_header_names_the_line(tree):
    with pytest.raises(MalformedPatch, match=r"line 3: unreadable hunk header"):
        check_patch("--- a/calc.py\n+++ b/calc.py\n@@ -x +y @@\n-a\n+b\n", tree.path)


def test_patch_rung_is_skipped_for_what_only_git_can_apply(tree):
    # An executable bit and a hunk whose context drifted: patch(1) would apply the hunk,
    # drop the mode and call it done; a half applied patch is not applied.
    patch = (
        "diff --git a/calc.py b/calc.py\nold mode 100644\nnew mode 100755\n"
        "--- a/calc.py\n+++ b/calc.py\n@@ -1,2 +1,2 @@\n def plus(a, b):\n"
        "-    return a - b\n+    return a + b\n"
    )
    with pytest.raises(PatchFailed) as info:
        apply_patch(tree, patch)
    app = info.value.application
    assert "patch --fuzz=3" not in app.tried
    assert "patch --fuzz=3: skipped, only git apply can apply calc.py: a mode change" in app.detail
    assert _clean(tree)


def test_real_git_patch_with_new_and_deleted_files_still_applies_strictly(tree):
    patch = (
        "diff --git a/empty.txt b/empty.txt\nnew file mode 100644\nindex 0000000..e69de29\n"
        "diff --git a/src/m.txt b/src/m.txt\ndeleted file mode 100644\n"
        "--- a/src/m.txt\n+++ /dev/null\n@@ -1,39 +0,0 @@\n"
        + "".join(f"-{line}\n" for line in CODE.splitlines())
    )
    assert check_patch(patch, tree.path) == ["empty.txt", "src/m.txt"]
    app = apply_patch(tree, patch)
    assert (app.method, app.strip, app.tried) == ("git apply", 1, ["git apply"])
    assert (tree.path / "empty.txt").read_text() == "" and not (tree.path / "src/m.txt").exists()
