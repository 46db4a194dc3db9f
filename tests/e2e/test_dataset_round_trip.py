"""The round trip: a dataset instance goes out, comes back as a task, is recorded by a
developer through the LSP proxy (in front of pylsp) and ``prtrace shell``, and QA in Docker gives the same
``FAIL_TO_PASS``.

The exported instance is the second session of tests/support/dataset_support.py: the
demo's fix plus a new test file, so its ``test_patch`` is not empty. The developer of the
round trip fixes the code only (through the editor); QA applies the task's test_patch
before both runs, as the SWE-bench harness does, and finds the same two tests fixed.
That trace is then built into a dataset of its own, loaded back by ``datasets``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from prtrace.client import Client
from prtrace.demo.server import ServerProcess
from prtrace.patches import apply_patch, split_files
from tests.support.dataset_support import SECOND_FAIL_TO_PASS, git, record_demo_traces
from tests.support.lsp_support import LspClient, proxy_env, prtrace_cmd
from tests.support.services import service_required
from tests.support.terminal_support import Tmux, need, spooled, wait_for


def _cli(server: ServerProcess, *args: str, cwd: Path, env: dict[str, str] | None = None) -> str:
    full = {
        **(env or os.environ),
        "PRTRACE_URL": server.url,
        "PRTRACE_API_TOKEN": server.api_token,
    }
    done = subprocess.run(
        [*prtrace_cmd(), *args], env=full, cwd=cwd, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def _pylsp() -> list[str]:
    """The real Python language server (the dev extra installs it)."""
    exe = Path(sys.executable).with_name("pylsp")
    if not exe.exists():
        service_required("pylsp is not installed (pip install the dev extra)")
    return [str(exe)]


def _edit_through_the_proxy(ws: Path, server: ServerProcess, patch: str) -> None:
    """Open each file of ``patch`` in an editor behind ``prtrace lsp``, type the fix, save."""
    env = proxy_env(ws, PRTRACE_URL=server.url, PRTRACE_API_TOKEN=server.api_token)
    client = LspClient(
        [*prtrace_cmd(), "lsp", "--idle-gap", "60", "--", *_pylsp()],
        env=env,
        cwd=ws,
    )
    client.initialize(ws)
    for section in split_files(patch):
        path = ws / section.path
        before = path.read_text()
        after = apply_patch(before, section.text)
        uri = path.as_uri()
        client.notify(
            "textDocument/didOpen",
            {"textDocument": {"uri": uri, "languageId": "python", "version": 1, "text": before}},
        )
        client.notify(
            "textDocument/didChange",
            {"textDocument": {"uri": uri, "version": 2}, "contentChanges": [{"text": after}]},
        )
        path.write_text(after)
        client.notify("textDocument/didSave", {"textDocument": {"uri": uri}})
        client.notify("textDocument/didClose", {"textDocument": {"uri": uri}})
    assert client.shutdown() == 0


def _command_in_the_shell(ws: Path, tmp_path: Path) -> None:
    bash = need("bash")
    home = tmp_path / "home"
    home.mkdir()
    (home / ".bashrc").write_text("PS1='user-prompt\\$ '\n")
    env = {
        "HOME": str(home),
        "PRTRACE_WORKSPACE": str(ws),
        "SHELL": bash,
        "PATH": os.environ["PATH"],
        "TERM": "tmux-256color",
        "LANG": "C.UTF-8",
    }
    term = Tmux([*prtrace_cmd(), "shell"], cwd=ws, env=env)
    try:
        wait_for(lambda: "user-prompt" in term.screen(), what="the shell's prompt")
        term.line("true")
        term.line("git diff --stat")
        wait_for(
            lambda: any(c["cmd"] == "git diff --stat" for c in spooled(ws, "terminal_command")),
            timeout=60,
            what="the command to be recorded",
        )
        term.line("exit")
        wait_for(lambda: not term.alive(), what="prtrace shell to exit")
    finally:
        term.close()


def test_exported_instance_recorded_again_gives_the_same_fail_to_pass(
    docker_client: object,
    start_prtrace_server: Callable[..., ServerProcess],
    tmp_path: Path,
) -> None:
    need("tmux")
    server = start_prtrace_server()
    repo, commit, _ = record_demo_traces(server, tmp_path / "traces")
    out = tmp_path / "out"
    _cli(server, "dataset", "build", str(out), "--splits", "test=1", "--no-progress", cwd=tmp_path)
    rows = [
        json.loads(line) for line in (out / "instances" / "test.jsonl").read_text().splitlines()
    ]
    instance = next(r for r in rows if r["test_patch"])
    assert instance["FAIL_TO_PASS"] == SECOND_FAIL_TO_PASS

    # The instance goes back in as a task, under a new id, for another developer.
    again = {**instance, "instance_id": "again__" + instance["instance_id"]}
    tasks = tmp_path / "tasks.jsonl"
    tasks.write_text(json.dumps(again) + "\n")
    _cli(server, "task", "import", str(tasks), "--developer", "gale", cwd=tmp_path)

    ws = tmp_path / "ws"
    git(tmp_path, "clone", "-q", str(repo), str(ws))
    git(ws, "checkout", "-q", commit)
    (ws / ".git" / "info" / "exclude").write_text(".prtrace/\n")
    started = json.loads(
        _cli(server, "record", "start", "--task", again["instance_id"], "--json", cwd=ws)
    )
    _edit_through_the_proxy(ws, server, instance["patch"])
    _command_in_the_shell(ws, tmp_path)
    stopped = json.loads(_cli(server, "record", "stop", "--json", cwd=ws))
    assert stopped["trace_id"] == started["trace_id"] and stopped["status"] == "sealed"

    with Client(server.url, server.api_token) as client:
        job = client.request_qa(started["trace_id"])
        assert client.wait_for_job(job.job_id, timeout=600).status == "done"
        trace = client.get_trace(started["trace_id"])
    types = {type(e).__name__ for e in trace.events}
    assert {"Edit", "TerminalCommand"} <= types, types
    assert trace.qa.tests is not None, trace.qa
    assert trace.qa.tests.verdict == "resolved", trace.qa.tests
    assert trace.qa.tests.fail_to_pass == instance["FAIL_TO_PASS"]

    # And the recorded trace builds into a dataset that loads.
    from datasets import load_dataset

    second = tmp_path / "second"
    _cli(
        server,
        "dataset",
        "build",
        str(second),
        "--developer",
        "gale",
        "--splits",
        "all=1",
        "--no-progress",
        cwd=tmp_path,
    )
    loaded = load_dataset(
        "parquet", data_files=str(second / "instances" / "all.parquet"), split="train"
    )
    assert loaded["trace_id"] == [started["trace_id"]]
    assert loaded["FAIL_TO_PASS"] == [SECOND_FAIL_TO_PASS]
    assert loaded["test_patch"] == [instance["test_patch"]]
    from swebench.harness.utils import load_swebench_dataset

    (recorded,) = load_swebench_dataset(str(second / "instances"), "all")
    assert recorded["FAIL_TO_PASS"] == SECOND_FAIL_TO_PASS
    # The recorded fix and the task's tests apply at base_commit, as the harness applies them.
    check = tmp_path / "check"
    git(tmp_path, "clone", "-q", str(repo), str(check))
    git(check, "checkout", "-q", recorded["base_commit"])
    for part in ("patch", "test_patch"):
        subprocess.run(
            ["git", "apply", "-"], input=recorded[part], text=True, cwd=check, check=True
        )
