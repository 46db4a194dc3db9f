"""The shell hook's legacy logs (snippets of earlier versions wrote commands to disk):
imported into the spool once, redacted, and the log scrubbed (the hook's loopback
transport is in tests/integration/test_hook_socket.py)."""

from __future__ import annotations

from pathlib import Path

RECORD = b"\x1e1.0\t2.5\t0\t/w\nmake test\x1f\n"


def test_logs_of_earlier_snippets_are_imported_once_and_scrubbed(tmp_path: Path) -> None:
    from prtrace.recorder.pipeline.emitter import EventEmitter
    from prtrace.recorder.pipeline.spool import Spool
    from prtrace.recorder.terminal.hooks import hook_dir, import_logs
    from tests.support.terminal_support import spooled

    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / ".prtrace.toml").write_text("")
    log = hook_dir(ws, create=True) / "123.log"
    log.write_bytes(
        RECORD
        + b"\x1e3\t4\t1\t/w\nexport TOKEN=ghp_"
        + b"a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"
        + b"\x1f\n"
    )
    with Spool.for_workspace(ws) as spool:
        emitter = EventEmitter(spool, source="hook")
        assert import_logs(ws, emitter) == 2
        assert import_logs(ws, emitter) == 0
    assert set(log.read_bytes()) == {0}  # overwritten in place once spooled
    cmds = [c["cmd"] for c in spooled(ws, "terminal_command")]
    assert cmds[0] == "make test" and "ghp_" not in cmds[1] and "<redacted:" in cmds[1]
