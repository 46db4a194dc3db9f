"""``prtrace hook`` in real bash, zsh and fish, typed into through tmux: every command
reaches the session's daemon over loopback, with its exit code and directory, and no
raw command line is ever on disk (the hook's record parsing is in
tests/unit/test_terminal_units.py)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from prtrace.recorder.pipeline.emitter import EventEmitter
from prtrace.recorder.pipeline.spool import Spool
from prtrace.recorder.terminal.hook_socket import HookListener
from prtrace.recorder.terminal.hooks import SNIPPETS, emit_received
from tests.support.terminal_support import Tmux, need, spooled, wait_for


def _ws(tmp_path: Path) -> Path:
    ws = tmp_path / "ws"
    ws.mkdir()
    subprocess.run(["git", "init", "-q"], cwd=ws, check=True)
    return ws


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
