"""The terminal recorders' parts: OSC 133 marks split anywhere, escape stripping, output
caps, ``prtrace run`` (streams apart, exit codes), ``prtrace hook`` in real bash and zsh,
and the git events implied by commands."""

from __future__ import annotations

import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

from prtrace.recorder.terminal.ansi import FULL_SCREEN_MARKER, TextCleaner, strip_escapes
from prtrace.recorder.terminal.commands import CommandRecord, OutputBuffer, emit_command, split_args
from prtrace.recorder.pipeline.emitter import EventEmitter
from prtrace.recorder.terminal.hook_socket import HookListener
from prtrace.recorder.terminal.hooks import SNIPPETS, emit_received, parse_records
from prtrace.recorder.pipeline.spool import Spool
from prtrace.recorder.terminal.marks import MarkParser, ShellRecorder
from tests.support.lsp_support import proxy_env, prtrace_cmd
from tests.support.terminal_support import Tmux, need, spooled, wait_for

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
        "FOO=1", "pytest", "-k", "a b", "&&", "echo", "done"]
    assert split_args("echo 'unclosed") == ["echo", "'unclosed"]


def test_git_events_from_commands(tmp_path: Path) -> None:
    emitter = EventEmitter(source="shell")
    emitter.emitted = []
    out = OutputBuffer()
    out.write("Creating pull request\nhttps://github.com/o/r/pull/42\n")
    emit_command(emitter, tmp_path, CommandRecord(
        "gh pr create --title 'Fix add' --base main", 1.0, 2.0, 0, str(tmp_path), stdout=out))
    emit_command(emitter, tmp_path, CommandRecord("git push -u origin fix", 3.0, 4.0, 1, None))
    types = [type(e).__name__ for e in emitter.emitted]
    assert types == ["TerminalCommand", "PrOpened", "TerminalCommand", "PushRemote"]
    pr, push = emitter.emitted[1], emitter.emitted[3]
    assert (pr.url, pr.number, pr.title, pr.base) == (
        "https://github.com/o/r/pull/42", 42, "Fix add", "main")
    assert (push.remote, push.branch, push.exit_code) == ("origin", "fix", 1)


def _ws(tmp_path: Path) -> Path:
    ws = tmp_path / "ws"
    ws.mkdir()
    subprocess.run(["git", "init", "-q"], cwd=ws, check=True)
    return ws


def test_run_records_streams_apart_and_passes_the_exit_code(tmp_path: Path) -> None:
    ws = _ws(tmp_path)
    script = "import sys; print('to out'); print('to err', file=sys.stderr); sys.exit(7)"
    done = subprocess.run([*prtrace_cmd(), "run", "--no-upload", "--", sys.executable, "-c",
                           script], cwd=ws, env=proxy_env(ws), capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 7
    assert done.stdout == "to out\n" and done.stderr == "to err\n"  # tee'd through
    killed = subprocess.run([*prtrace_cmd(), "run", "--no-upload", "--", "sh", "-c",
                             "kill -TERM $$"], cwd=ws, env=proxy_env(ws), timeout=60)
    assert killed.returncode == 128 + 15
    first, second = spooled(ws, "terminal_command")
    assert first["stdout"] == "to out\n" and first["stderr"] == "to err\n"
    assert first["exit_code"] == 7 and first["source"] == "run" and first["cwd"] == "."
    assert "output_merged" not in first and first["args"][-1] == script
    assert second["exit_code"] == 143


def test_parse_records_takes_only_complete_ones() -> None:
    data = (b"\x1e1.5\t2.0\t0\t/w%09x\n\t ls -la\n\x1f\n"
            b"\x1e3,0\t4,5\t1\t/w\nmake \\\n  test\x1f\n\x1e5\t6\t0\t/w\npartial")
    records, used = parse_records(data)
    assert [(r.cmdline, r.start, r.end, r.exit_code, r.cwd) for r in records] == [
        ("ls -la", 1.5, 2.0, 0, "/w\tx"), ("make \\\n  test", 3.0, 4.5, 1, "/w")]
    assert data[used:].startswith(b"\x1e5")


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_hook_records_every_command_of_a_real_shell(
    tmp_path: Path, shell: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = need(shell)
    ws = _ws(tmp_path)
    monkeypatch.setenv("PRTRACE_WORKSPACE", str(ws))  # the privacy step's opt-in
    (ws / ".prtrace" / "hook").mkdir(parents=True)
    listener = HookListener(ws / ".prtrace" / "hook").start()  # as the session's daemon runs it
    (ws / "sub").mkdir()
    home = tmp_path / "home"
    home.mkdir()
    if shell == "fish":
        rc = home / ".config" / "fish" / "config.fish"
        rc.parent.mkdir(parents=True)
        prompt = "set -g fish_greeting\nfunction fish_prompt; echo -n 'ready> '; end\n"
    else:
        rc = home / (".bashrc" if shell == "bash" else ".zshrc")
        prompt = "PS1='ready> '\nPROMPT='ready> '\n"
    rc.write_text(SNIPPETS[shell] + prompt)
    env = {"HOME": str(home), "PATH": os.environ["PATH"], "TERM": "tmux-256color"}
    term = Tmux([path, "-i"], cwd=ws, env=env)
    try:
        wait_for(lambda: "ready>" in term.screen(), what="the prompt")
        term.line("echo one | cat")
        term.line("cd sub; and false" if shell == "fish" else "cd sub && false")
        term.line("sleep 0.2")
        term.line("exit")
        wait_for(lambda: not term.alive(), what="the shell to exit")
    finally:
        term.close()
        listener.stop()
    logs = list((ws / ".prtrace" / "hook").glob("*.log"))
    with Spool.for_workspace(ws) as spool:
        emitter = EventEmitter(spool, source="hook")
        # Over loopback: no raw command line is ever on disk. fish also runs its
        # end-of-command event for `exit` itself.
        assert logs == []
        assert emit_received(ws, emitter, listener.drain()) == (4 if shell == "fish" else 3)
        assert listener.drain() == []
    cmds = spooled(ws, "terminal_command")
    if shell == "fish":
        assert cmds[-1]["cmd"] == "exit"
        cmds = cmds[:-1]
    assert [(c["cmd"], c["exit_code"], c["cwd"]) for c in cmds] == [
        ("echo one | cat", 0, "."),
        ("cd sub; and false" if shell == "fish" else "cd sub && false", 1, "."),
        ("sleep 0.2", 0, "sub"),
    ]
    assert cmds[2]["duration_ms"] >= 200 and all("stdout" not in c for c in cmds)
