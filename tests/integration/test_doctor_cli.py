"""The real ``prtrace doctor``: on a machine with pieces missing it names each one (and
what to run), exits 1; once they are in place it says so and exits 0."""

from __future__ import annotations

import json
import os
import socket
import subprocess
from pathlib import Path

from prtrace.demo.server import ServerProcess
from prtrace.recorder.setup import TARGETS
from tests.support.lsp_support import prtrace_cmd


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _doctor(tmp_path: Path, repo: Path, **env: str) -> tuple[int, dict]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("PRTRACE_")}
    base.update(HOME=str(tmp_path / "home"), XDG_CONFIG_HOME=str(tmp_path / "config"), **env)
    base["PATH"] = os.pathsep.join(
        p for p in base.get("PATH", "").split(os.pathsep) if not (Path(p) / "code").exists()
    )
    done = subprocess.run(
        [*prtrace_cmd(), "doctor", "--json", "--repo", str(repo)],
        capture_output=True,
        text=True,
        env=base,
        timeout=120,
        check=False,
    )
    return done.returncode, json.loads(done.stdout)


def test_doctor_names_each_missing_piece(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    code, report = _doctor(tmp_path, repo, PRTRACE_URL=f"http://127.0.0.1:{_closed_port()}")
    assert code == 1 and not report["ok"]
    checks = {c["name"]: c for c in report["checks"]}
    missing = {name for name, c in checks.items() if not c["ok"]}
    assert {"opt-in", "token", "backend"} <= missing
    assert all(checks[n]["required"] and checks[n]["fix"] for n in ("opt-in", "token", "backend"))
    assert ".prtrace.toml" in checks["opt-in"]["fix"]
    # every setup target reports itself, each with the command that installs it
    for target in TARGETS:
        found = [c for c in report["checks"] if c["name"].startswith(f"{target} ")]
        assert found and not found[0]["ok"] and found[0]["fix"] == f"prtrace setup {target}"


def test_doctor_passes_once_the_pieces_are_in_place(
    tmp_path: Path, prtrace_server: ServerProcess
) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    (repo / ".prtrace.toml").write_text("[privacy]\n")
    subprocess.run(
        [*prtrace_cmd(), "setup", "emacs", "--home", str(tmp_path / "home")],
        check=True,
        capture_output=True,
    )
    code, report = _doctor(
        tmp_path, repo, PRTRACE_URL=prtrace_server.url, PRTRACE_API_TOKEN=prtrace_server.api_token
    )
    checks = {c["name"]: c for c in report["checks"]}
    assert code == 0 and report["ok"], report
    assert checks["emacs config"]["ok"] and checks["token accepted"]["ok"]
    assert checks["backend"]["ok"] and checks["opt-in"]["ok"]

    code, report = _doctor(
        tmp_path, repo, PRTRACE_URL=prtrace_server.url, PRTRACE_API_TOKEN="pta_wrong"
    )
    checks = {c["name"]: c for c in report["checks"]}
    assert code == 1 and not checks["token accepted"]["ok"]
