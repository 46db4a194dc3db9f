"""The shell hook's loopback transport (recorder/terminal/hook_socket.py)."""

from __future__ import annotations

import os
import socket
import stat
import subprocess
from pathlib import Path

from prtrace.recorder.terminal.hook_socket import HookListener
from prtrace.recorder.terminal.hooks import SNIPPETS
from tests.support.terminal_support import need, wait_for

RECORD = b"\x1e1.0\t2.5\t0\t/w\nmake test\x1f\n"


def send(endpoint: Path, payload: bytes) -> None:
    port = int(endpoint.read_text().split()[0])
    with socket.create_connection(("127.0.0.1", port)) as conn:
        conn.sendall(payload)


def test_records_need_the_token_from_the_private_endpoint_file(tmp_path: Path) -> None:
    listener = HookListener(tmp_path).start()
    try:
        endpoint = tmp_path / "endpoint"
        assert stat.S_IMODE(endpoint.stat().st_mode) == 0o600
        token = endpoint.read_text().split()[1].encode()
        send(endpoint, b"not-the-token\n" + RECORD)
        send(endpoint, token + b"\n" + RECORD)
        records = wait_for(listener.drain, what="the record")
        assert [(r.cmdline, r.exit_code, r.cwd) for r in records] == [("make test", 0, "/w")]
        assert listener.drain() == []  # the forged one never arrived
    finally:
        listener.stop()
    assert not endpoint.exists()


def test_hook_without_a_listening_daemon_drops_quietly(tmp_path: Path) -> None:
    bash = need("bash")
    ws = tmp_path / "ws"
    (ws / ".prtrace" / "hook").mkdir(parents=True)
    listener = HookListener(ws / ".prtrace" / "hook").start()
    endpoint = (ws / ".prtrace" / "hook" / "endpoint").read_text()
    listener.stop()
    (ws / ".prtrace" / "hook" / "endpoint").write_text(endpoint)  # stale: a daemon killed -9
    rc = tmp_path / "bashrc"
    rc.write_text(SNIPPETS["bash"])
    done = subprocess.run(
        [bash, "--rcfile", str(rc), "-i"],
        input="echo first\nfalse\necho still-here\n",
        cwd=ws,
        text=True,
        capture_output=True,
        timeout=60,
        env={"PATH": os.environ["PATH"], "HOME": str(tmp_path)},
    )
    assert "first" in done.stdout and "still-here" in done.stdout
    assert "Connection refused" not in done.stderr and "/dev/tcp" not in done.stderr
    assert list((ws / ".prtrace" / "hook").glob("*.log")) == []
