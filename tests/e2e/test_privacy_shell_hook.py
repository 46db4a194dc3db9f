"""Secrets typed into ``prtrace shell`` (bash, through tmux) and into any terminal with
the rc hook: none reaches the spool or any file under .prtrace/, placeholders do."""

from __future__ import annotations

import os
import shlex
import subprocess
from pathlib import Path

from tests.support.lsp_support import prtrace_cmd
from tests.support.privacy_corpus import CORPUS, needles
from tests.support.terminal_support import Tmux, need, spooled, wait_for

# One-line secrets (a private key block cannot be typed as one command line).
TYPED = [
    (kind, secret, line.format(s=secret)) for kind, secret, line in CORPUS if "\n" not in secret
][:20]


def leaks(ws: Path) -> list[str]:
    found = []
    for path in (ws / ".prtrace").rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            found += [
                f"{path.name}: {n}" for _, s, _ in TYPED for n in needles(s) if n.encode() in data
            ]
    return found


def test_secrets_typed_into_prtrace_shell_never_reach_the_spool(tmp_path: Path) -> None:
    path = need("bash")
    ws, home = tmp_path / "ws", tmp_path / "home"
    ws.mkdir()
    home.mkdir()
    subprocess.run(["git", "init", "-q"], cwd=ws, check=True)
    (home / ".bashrc").write_text("PS1='user-prompt\\$ '\n")
    env = {
        "HOME": str(home),
        "PRTRACE_WORKSPACE": str(ws),
        "SHELL": path,
        "PATH": os.environ["PATH"],
        "TERM": "tmux-256color",
        "LANG": "C.UTF-8",
    }
    term = Tmux([*prtrace_cmd(), "shell", "--no-upload"], cwd=ws, env=env)
    try:
        wait_for(lambda: "user-prompt" in term.screen(), what="the prompt")
        for _, _, line in TYPED:  # each secret in the command line and in its output
            term.line(f"echo {shlex.quote(line)}")
        commands = wait_for(
            lambda: (lambda c: c if len(c) >= len(TYPED) else None)(
                spooled(ws, "terminal_command")
            ),
            timeout=90,
            what="every command spooled",
        )
        term.line("exit")
        wait_for(lambda: not term.alive(), what="the shell to exit")
    finally:
        term.close()
    assert leaks(ws) == []
    kinds = {kind for kind, _, _ in TYPED}
    recorded = "".join(c["cmd"] + c["stdout"] for c in commands)
    assert recorded.count("<redacted:") >= 2 * len(TYPED) - 2, recorded
    assert len(kinds) > 5


def test_hooked_commands_reach_the_spool_redacted_and_never_touch_the_disk(tmp_path: Path) -> None:
    """The rc hook runs inside the user's shell, where no redactor can: bash sends each
    raw record over loopback to the session's daemon (recorder/terminal/hook_socket.py), which
    redacts it on its way into the spool. Nothing raw is ever written."""
    from prtrace.recorder.pipeline.emitter import EventEmitter
    from prtrace.recorder.pipeline.spool import Spool
    from prtrace.recorder.terminal.hook_socket import HookListener
    from prtrace.recorder.terminal.hooks import emit_received, hook_dir

    path = need("bash")
    ws = tmp_path / "ws"
    ws.mkdir()
    subprocess.run(["git", "init", "-q"], cwd=ws, check=True)
    (ws / ".prtrace.toml").write_text("")
    listener = HookListener(hook_dir(ws, create=True)).start()
    rc = tmp_path / "bashrc"
    rc.write_text(
        subprocess.run(
            [*prtrace_cmd(), "hook", "bash"], capture_output=True, text=True, check=True
        ).stdout
    )
    script = "\n".join(f"true {shlex.quote(line)}" for _, _, line in TYPED) + "\n"
    env = {**os.environ, "PRTRACE_WORKSPACE": str(ws), "HOME": str(tmp_path)}
    try:
        subprocess.run(
            [path, "--rcfile", str(rc), "-i"],
            input=script,
            cwd=ws,
            env=env,
            text=True,
            capture_output=True,
            timeout=120,
            check=False,
        )
        received: list = []

        def all_received() -> bool:
            received.extend(listener.drain())
            return len(received) >= len(TYPED)

        wait_for(all_received, timeout=30, what="every hooked command")
    finally:
        listener.stop()
    assert leaks(ws) == []  # nothing raw anywhere under .prtrace/, at any point we could see
    with Spool.for_workspace(ws) as spool:
        assert emit_received(ws, EventEmitter(spool, source="hook"), received) == len(TYPED)
    assert leaks(ws) == []
    commands = [c["cmd"] for c in spooled(ws, "terminal_command")]
    assert sum(c.count("<redacted:") for c in commands) >= len(TYPED) - 1, commands
