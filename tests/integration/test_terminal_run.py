"""``prtrace run`` as a real process: stdout and stderr recorded apart and passed
through, the exit code (a signal's included) passed on (the terminal recorders'
parts are in tests/unit/test_terminal_units.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.support.lsp_support import proxy_env, prtrace_cmd
from tests.support.terminal_support import spooled


def _ws(tmp_path: Path) -> Path:
    ws = tmp_path / "ws"
    ws.mkdir()
    subprocess.run(["git", "init", "-q"], cwd=ws, check=True)
    return ws


def test_run_records_streams_apart_and_passes_the_exit_code(tmp_path: Path) -> None:
    ws = _ws(tmp_path)
    script = "import sys; print('to out'); print('to err', file=sys.stderr); sys.exit(7)"
    done = subprocess.run(
        [*prtrace_cmd(), "run", "--no-upload", "--", sys.executable, "-c", script],
        cwd=ws,
        env=proxy_env(ws),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 7
    assert done.stdout == "to out\n" and done.stderr == "to err\n"  # tee'd through
    killed = subprocess.run(
        [*prtrace_cmd(), "run", "--no-upload", "--", "sh", "-c", "kill -TERM $$"],
        cwd=ws,
        env=proxy_env(ws),
        timeout=60,
    )
    assert killed.returncode == 128 + 15
    first, second = spooled(ws, "terminal_command")
    assert first["stdout"] == "to out\n" and first["stderr"] == "to err\n"
    assert first["exit_code"] == 7 and first["source"] == "run" and first["cwd"] == "."
    assert "output_merged" not in first and first["args"][-1] == script
    assert second["exit_code"] == 143
