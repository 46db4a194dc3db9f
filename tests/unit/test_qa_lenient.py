"""The lenient patch parser (qa/lenient.py): counts from bodies, names, strip level,
the canonical text and the per-hunk diagnosis. Files only: no subprocess."""

from __future__ import annotations

from pathlib import Path

import pytest

from prtrace.qa import lenient
from prtrace.qa.lenient import MalformedPatch


def test_counts_come_from_the_body_and_wrong_headers_are_noted():
    parsed = lenient.parse(
        "--- x.py\n+++ x.py\n@@ -1,2 +1,2 @@\n a\n-b\n+B\n c\n\n@@ -10 +10 @@\n-k\n+K\n"
    )
    [f] = parsed.files
    assert (f.old_raw, f.new_raw) == ("x.py", "x.py")
    first, second = f.hunks
    assert (first.body_old, first.body_new, first.recounted) == (3, 3, True)
    assert first.counted_header() == "@@ -1,3 +1,3 @@"
    assert (second.body_old, second.body_new, second.recounted) == (1, 1, False)


def test_right_headers_are_trusted_and_trailing_blanks_and_signatures_dropped():
    parsed = lenient.parse(
        "From x\nSubject: fix\n\ndiff --git a/x.py b/x.py\nindex 1..2 100644\n"
        "--- a/x.py\n+++ b/x.py\n@@ -1,2 +1,2 @@\n a\n-b\n+B\n\n\n-- \n2.39.5\n"
    )
    [f] = parsed.files
    assert f.git and f.mode("index") == "1..2 100644"
    [h] = f.hunks
    assert h.lines == [" a", "-b", "+B"] and not h.recounted


def test_empty_lines_inside_a_hunk_are_context():
    parsed = lenient.parse("--- x\n+++ x\n@@ -1,3 +1,3 @@\n a\n\n-b\n+B\n")
    [h] = parsed.files[0].hunks
    assert h.lines == [" a", " ", "-b", "+B"] and h.blank_context == 1 and not h.recounted


def test_a_file_header_inside_a_short_hunk_opens_a_new_file():
    parsed = lenient.parse(
        "--- a\n+++ a\n@@ -1,1 +1,1 @@\n-x\n+y\n--- ../b\n+++ ../b\n@@ -0,0 +1 @@\n+z\n"
    )
    assert [f.new_raw for f in parsed.files] == ["a", "../b"]
    assert "../b" in parsed.raw_names()


def test_crlf_and_no_newline_markers():
    parsed = lenient.parse("--- a/x\r\n+++ b/x\r\n@@ -1 +1 @@\r\n-x\r\n\\ No newline\r\n+y\r\n")
    [h] = parsed.files[0].hunks
    assert parsed.crlf and h.no_newline_old and not h.no_newline_new
    assert parsed.files[0].new_raw == "b/x"


def test_unreadable_header_names_the_line():
    with pytest.raises(MalformedPatch, match="line 3"):
        lenient.parse("--- a/x\n+++ b/x\n@@ nope @@\n-x\n")


def test_strip_level_follows_the_checkout(tmp_path: Path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "x.py").write_text("x\n")
    (tmp_path / "y.py").write_text("y\n")
    bare = lenient.parse("--- a/x.py\n+++ a/x.py\n@@ -1 +1 @@\n-x\n+X\n")
    assert lenient.detect_strip(bare, tmp_path) == 0
    git_style = lenient.parse("--- a/y.py\n+++ b/y.py\n@@ -1 +1 @@\n-y\n+Y\n")
    assert lenient.detect_strip(git_style, tmp_path) == 1
    new_file = lenient.parse("--- /dev/null\n+++ b/new.py\n@@ -0,0 +1 @@\n+n\n")
    assert lenient.detect_strip(new_file, tmp_path) == 1


def test_canonical_matches_line_endings_and_adds_the_marker(tmp_path: Path):
    (tmp_path / "dos.txt").write_bytes(b"one\r\ntwo\r\n")
    (tmp_path / "end.txt").write_text("p\nq")
    parsed = lenient.parse(
        "--- dos.txt\n+++ dos.txt\n@@ -1,9 +1,9 @@\n one\n-two\n+TWO\n"
        "--- end.txt\n+++ end.txt\n@@ -1,2 +1,2 @@\n p\n-q\n+Q\n"
    )
    canon = lenient.canonical(parsed, tmp_path, 0)
    assert " one\r\n-two\r\n+TWO\r\n" in canon.text
    assert "-q\n\\ No newline at end of file\n+Q\n\\ No newline at end of file\n" in canon.text
    assert canon.recounted == ["dos.txt hunk 1: @@ -1,9 +1,9 @@ → @@ -1,2 +1,2 @@"]
    assert any("CRLF" in n for n in canon.normalized)
    assert any("marker added" in n for n in canon.normalized)


def test_diagnose_names_hunk_line_and_texts(tmp_path: Path):
    (tmp_path / "m.txt").write_text("a\nb\nc\n")
    [h] = lenient.parse("--- m.txt\n+++ m.txt\n@@ -2,2 +2,2 @@\n b\n-C\n+D\n").files[0].hunks
    msg = lenient.diagnose(h, 1, "m.txt", tmp_path / "m.txt")
    assert msg == (
        "hunk 1 of m.txt (@@ -2,2 +2,2 @@): a removed line does not match the file at "
        "line 3: the patch has 'C', the file 'c'"
    )
    assert "does not exist" in lenient.diagnose(h, 1, "m.txt", tmp_path / "gone")


def test_old_patch_documents_decode_and_new_fields_are_omitted_when_empty():
    import msgspec

    from prtrace.trace import HunkResult, PatchApplication, TestsResult

    old = b'{"patch":{"method":"git apply","applied":true,"detail":"hunk 1 at 3 (offset 2)"}}'
    res = msgspec.json.decode(old, type=TestsResult)
    assert res.patch == PatchApplication(
        method="git apply", applied=True, detail="hunk 1 at 3 (offset 2)"
    )
    assert res.patch.hunks == [] and res.patch.strip is None
    assert msgspec.json.encode(res.patch) == old[9:-1]
    new = PatchApplication(
        method="patch --fuzz=3",
        applied=True,
        strip=0,
        hunks=[HunkResult(path="x", hunk=1, header="@@ -1 +1 @@", applied=True, fuzz=1)],
    )
    assert msgspec.json.decode(msgspec.json.encode(new), type=PatchApplication) == new


def test_diagnose_looks_where_the_hunk_moved(tmp_path: Path):
    (tmp_path / "m.txt").write_text("".join(f"l{i}\n" for i in range(1, 30)))
    # Written against a copy 10 lines shorter at the top, and a removed line differs.
    [h] = lenient.parse("--- m\n+++ m\n@@ -5,3 +5,3 @@\n l15\n-L16\n+X\n l17\n").files[0].hunks
    msg = lenient.diagnose(h, 1, "m.txt", tmp_path / "m.txt")
    assert msg == (
        "hunk 1 of m.txt (@@ -5,3 +5,3 @@): the closest match (2 of 3 lines) is at line 15 "
        "(offset 10), where a removed line does not match the file at line 16: the patch "
        "has 'L16', the file 'l16'"
    )
