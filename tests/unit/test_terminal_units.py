"""The terminal recorders' parts: OSC 133 marks split anywhere, escape stripping, output
caps, the hook's records, and the git events implied by commands (``prtrace run`` as a
process: tests/integration/test_terminal_run.py; ``prtrace hook`` in real bash, zsh and
fish: tests/e2e/test_terminal_hook_shells.py)."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from prtrace.recorder.pipeline.emitter import EventEmitter
from prtrace.recorder.terminal.ansi import FULL_SCREEN_MARKER, TextCleaner, strip_escapes
from prtrace.recorder.terminal.commands import CommandRecord, OutputBuffer, emit_command, split_args
from prtrace.recorder.terminal.hooks import parse_records
from prtrace.recorder.terminal.marks import MarkParser, ShellRecorder

STREAM = (
    b"\x1b]133;A\x07prompt$ \x1b]133;C;echo%20%3B%20hi;/tmp/w\x07"
    b"\x1b[32mgreen\x1b[0m line\r\nprogress 10%\rprogress 100%\r\n"
    b"\x1b]0;a title\x1b\\\x1b]133;D;3\x1b\\\x1b]133;A\x07prompt$ "
    b"\x1b]133;C;vim%20f;/tmp/w\x07\x1b[?1049h\x1b[Hscreen\x1b[?1049l\x1b]133;D;0\x07"
)


@pytest.mark.parametrize("seed", range(30))
def test_marks_and_output_survive_any_chunking(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    cuts = sorted(rng.sample(range(1, len(STREAM)), rng.randint(1, 40)))
    chunks = [STREAM[a:b] for a, b in zip([0, *cuts], [*cuts, len(STREAM)])]
    emitter = EventEmitter(source="shell")
    emitter.emitted = []
    rec = ShellRecorder(tmp_path, emitter)
    for i, chunk in enumerate(chunks):
        rec.feed(float(i), chunk)
    rec.close(99.0)
    first, second = emitter.emitted
    assert first.cmd == "echo ; hi" and first.cwd == "/tmp/w" and first.exit_code == 3
    assert first.stdout == "green line\nprogress 100%\n"
    assert first.args == ["echo", ";", "hi"] and first.output_merged
    assert second.cmd == "vim f" and second.stdout.strip() == FULL_SCREEN_MARKER.strip()


def test_bash_names_the_command_right_after_it_ends(tmp_path: Path) -> None:
    """bash's C carries nothing; an E right after its D says what ran and where
    (recorder/terminal/bash_hooks.py), also after a D without a code (``exit``). What is
    echoed between D and E (typeahead) is not output; no E, no command."""
    emitter = EventEmitter(source="shell")
    emitter.emitted = []
    rec = ShellRecorder(tmp_path, emitter)
    rec.feed(1.0, b"\x1b]133;A\x07$ (exit 7)\r\n\x1b]133;C\x07out\r\n")
    rec.feed(2.0, b"\x1b]133;D;7\x07typed ahead\x1b]133;E;(exit%207)%3B%20x;/tmp/w\x07")
    rec.feed(3.0, b"\x1b]133;A\x07$ \x1b]133;D;0\x07\x1b]133;A\x07$ x\r\n\x1b]133;C\x07")
    rec.feed(4.0, b"\x1b]133;D;0\x07\x1b]133;A\x07$ exit\r\n\x1b]133;C\x07")
    rec.feed(5.0, b"\x1b]133;D\x07\x1b]133;E;exit;/tmp/w%25\x07")
    rec.close(6.0)
    first, second = emitter.emitted
    assert (first.cmd, first.exit_code, first.cwd, first.stdout) == (
        "(exit 7); x",
        7,
        "/tmp/w",
        "out\n",
    )
    assert (second.cmd, second.exit_code, second.cwd) == ("exit", None, "/tmp/w%")


def test_mark_parser_leaves_foreign_osc_as_text() -> None:
    parser = MarkParser()
    parts = list(parser.feed(b"a\x1b]1337;x\x07b\x1b]13")) + list(parser.feed(b"3;A\x07c"))
    assert parts == [("text", b"a\x1b]1337;x\x07b"), ("mark", b"A"), ("text", b"c")]


def test_strip_escapes_and_cleaner() -> None:
    assert strip_escapes("\x1b[1;31mred\x1b[0m \x1b(Bok\x07\x1bPq#1\x1b\\") == "red ok"
    cleaner = TextCleaner()
    text = cleaner.feed(b"caf\xc3") + cleaner.feed(b"\xa9 \x1b[") + cleaner.feed(b"1mok\n", True)
    assert text == "café ok\n"


def test_output_cap_keeps_head_and_tail() -> None:
    out = OutputBuffer(cap=100)
    for i in range(50):
        out.write(f"{i:04d}\n")
    assert out.truncated and out.size == 250 and out.bytes == 250
    text = out.text()
    assert text.startswith("0000\n") and text.endswith("0049\n")
    assert "[… prtrace: 150 characters omitted …]" in text
    small = OutputBuffer(cap=100)
    small.write("é" * 10)
    assert not small.truncated and small.text() == "é" * 10 and small.bytes == 20


def test_split_args() -> None:
    assert split_args("FOO=1 pytest -k 'a b' && echo done") == [
        "FOO=1",
        "pytest",
        "-k",
        "a b",
        "&&",
        "echo",
        "done",
    ]
    assert split_args("echo 'unclosed") == ["echo", "'unclosed"]


def test_git_events_from_commands(tmp_path: Path) -> None:
    emitter = EventEmitter(source="shell")
    emitter.emitted = []
    out = OutputBuffer()
    out.write("Creating pull request\nhttps://github.com/o/r/pull/42\n")
    emit_command(
        emitter,
        tmp_path,
        CommandRecord(
            "gh pr create --title 'Fix add' --base main", 1.0, 2.0, 0, str(tmp_path), stdout=out
        ),
    )
    emit_command(emitter, tmp_path, CommandRecord("git push -u origin fix", 3.0, 4.0, 1, None))
    types = [type(e).__name__ for e in emitter.emitted]
    assert types == ["TerminalCommand", "PrOpened", "TerminalCommand", "PushRemote"]
    pr, push = emitter.emitted[1], emitter.emitted[3]
    assert (pr.url, pr.number, pr.title, pr.base) == (
        "https://github.com/o/r/pull/42",
        42,
        "Fix add",
        "main",
    )
    assert (push.remote, push.branch, push.exit_code) == ("origin", "fix", 1)


def test_parse_records_takes_only_complete_ones() -> None:
    data = (
        b"\x1e1.5\t2.0\t0\t/w%09x\n\t ls -la\n\x1f\n"
        b"\x1e3,0\t4,5\t1\t/w\nmake \\\n  test\x1f\n\x1e5\t6\t0\t/w\npartial"
    )
    records, used = parse_records(data)
    assert [(r.cmdline, r.start, r.end, r.exit_code, r.cwd) for r in records] == [
        ("ls -la", 1.5, 2.0, 0, "/w\tx"),
        ("make \\\n  test", 3.0, 4.5, 1, "/w"),
    ]
    assert data[used:].startswith(b"\x1e5")


def test_zsh_prompt_sp_cut_anywhere_keeps_the_line_before_it() -> None:
    """A last line without a newline, then zsh's PROMPT_SP, cut between two PTY reads at
    any point: the line stays (test_terminal_shell[zsh] once lost fold's last 100 x's)."""
    sp = b"\x1b[1m\x1b[7m%\x1b[27m\x1b[1m\x1b[0m" + b" " * 119 + b"\r \r"
    data = b"x" * 100 + b"\r\n" + b"y" * 100 + sp
    for cut in range(190, len(data)):  # before: plain lines, cut anywhere elsewhere
        cleaner = TextCleaner()
        text = cleaner.feed(data[:cut]) + cleaner.feed(data[cut:]) + cleaner.feed(b"", True)
        assert text == "x" * 100 + "\n" + "y" * 100, cut
