"""The real Claude Code CLI in a recorded session, beside a human in an editor and a formatter.

In one ``prtrace record start`` session against a real ``prtrace serve``, with the hooks
``prtrace setup claude-code`` installed: a human edits ``human.py`` through ``prtrace lsp``
in front of pylsp; Claude Code (the pinned CLI, against a scripted fake Anthropic API)
reads and edits ``agent.py`` with its Edit tool and runs a Bash command that writes
``gen.py``; ``prtrace run -- ruff format`` rewrites ``fmt.py``. The trace must say who
made each change (once each), whose every line of the final patch is, and the Agent
Trace export must carry the right contributor for each range.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from prtrace.client import Client
from prtrace.recorder.session import daemon
from tests.support.agent_support import claude_binary, run_claude
from tests.support.fake_anthropic import FakeAnthropic
from tests.support.lsp_support import LspClient, proxy_env, prtrace_cmd
from tests.support.services import service_required
from tests.support.terminal_support import spooled, wait_for

GIT_ID = ["-c", "user.email=dev@example.com", "-c", "user.name=Dev"]
HUMAN_BASE = "def greet(name):\n    return name\n"
HUMAN_NEW = 'def greet(name):\n    """Say hello."""\n    return "hello " + name\n'
AGENT_BASE = "def add(a, b):\n    return a - b\n"
FMT_BASE = "x = [1,2,\n  3]\n"
SCRIPT = [
    [{"type": "tool_use", "name": "Read", "input": {"file_path": "{cwd}/agent.py"}}],
    [
        {"type": "text", "text": "The sign is wrong."},
        {
            "type": "tool_use",
            "name": "Edit",
            "input": {
                "file_path": "{cwd}/agent.py",
                "old_string": "    return a - b\n",
                "new_string": "    # fixed by the agent\n    return a + b\n",
            },
        },
    ],
    [
        {
            "type": "tool_use",
            "name": "Bash",
            "input": {
                "command": "printf 'GENERATED = True\\n' > gen.py && echo wrote gen.py",
                "description": "Generate gen.py",
            },
        }
    ],
    [{"type": "text", "text": "Fixed add and generated gen.py."}],
]


def _git(ws: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *GIT_ID, *args], cwd=ws, check=True, capture_output=True, text=True
    ).stdout


def _tool(name: str) -> str:
    exe = Path(sys.executable).with_name(name)
    if not exe.exists():
        service_required(f"{name} is not installed in the virtualenv (the dev extra)")
    return str(exe)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    ws = tmp_path / "repo"
    ws.mkdir()
    (ws / "human.py").write_text(HUMAN_BASE)
    (ws / "agent.py").write_text(AGENT_BASE)
    (ws / "fmt.py").write_text(FMT_BASE)
    (ws / ".gitignore").write_text(".ruff_cache/\n")
    _git(ws, "init", "-q", "-b", "main")
    return ws


def _human_edits(ws: Path, env: dict[str, str]) -> None:
    client = LspClient(
        [*prtrace_cmd(), "lsp", "--idle-gap", "0.2", "--", _tool("pylsp")], env=env, cwd=ws
    )
    try:
        client.initialize(ws)
        uri = (ws / "human.py").as_uri()
        client.notify(
            "textDocument/didOpen",
            {
                "textDocument": {
                    "uri": uri,
                    "languageId": "python",
                    "version": 1,
                    "text": HUMAN_BASE,
                }
            },
        )
        client.notify(
            "textDocument/didChange",
            {"textDocument": {"uri": uri, "version": 2}, "contentChanges": [{"text": HUMAN_NEW}]},
        )
        (ws / "human.py").write_text(HUMAN_NEW)  # the editor saves, then tells the server
        client.notify("textDocument/didSave", {"textDocument": {"uri": uri}})
        wait_for(lambda: spooled(ws, "edit"), what="the human's edit")
        assert client.shutdown() == 0
    finally:
        pass


def test_each_change_and_line_has_its_author(repo: Path, tmp_path: Path, prtrace_server) -> None:
    claude_binary()
    env = proxy_env(
        repo, PRTRACE_URL=prtrace_server.url, PRTRACE_API_TOKEN=prtrace_server.api_token
    )

    def cli(*args: str) -> subprocess.CompletedProcess:
        done = subprocess.run(
            [*prtrace_cmd(), *args], env=env, cwd=repo, capture_output=True, text=True, timeout=180
        )
        assert done.returncode == 0, done.stderr
        return done

    cli("setup", "claude-code", "--repo", str(repo))
    settings = json.loads((repo / ".claude" / "settings.json").read_text())
    assert sorted(settings["hooks"]) == sorted(
        ["SessionStart", "UserPromptSubmit", "PreToolUse", "PostToolUse", "Stop", "SessionEnd"]
    )
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "initial")
    started = json.loads(cli("record", "start", "--json").stdout)
    try:
        _human_edits(repo, env)
        with FakeAnthropic(SCRIPT) as fake:
            run_claude(repo, tmp_path / "home", fake, "fix add and generate gen.py")
        cli("run", "--", _tool("ruff"), "format", "fmt.py")
        wait_for(
            lambda: (
                {e["path"] for e in spooled(repo) if e.get("source") == "fs"}
                >= {"agent.py", "gen.py", "fmt.py"}
            ),
            what="the watcher's changes",
        )
        stopped = json.loads(cli("record", "stop", "--json").stdout)
    finally:
        daemon.stop(repo, timeout=10)
    assert stopped["status"] == "sealed"

    with Client(prtrace_server.url, prtrace_server.api_token) as api:
        trace = api.get_trace(started["trace_id"])
    events = trace.events
    by_type = lambda name: [e for e in events if e.__struct_config__.tag == name]  # noqa: E731
    calls = {c.tool: c for c in by_type("agent_tool_call")}
    assert set(calls) >= {"Read", "Edit", "Bash"}
    assert calls["Edit"].files == ["agent.py"] and calls["Edit"].input == "agent.py"
    assert calls["Bash"].input.startswith("printf") and "wrote gen.py" in calls["Bash"].output
    assert calls["Read"].files == []
    assert [p.prompt for p in by_type("agent_prompt")] == ["fix add and generate gen.py"]
    phases = [s.phase for s in by_type("agent_session")]
    assert phases[0] == "start" and "stop" in phases and phases[-1] == "end"
    model = calls["Edit"].model
    assert model == "claude-fake-1"
    command = next(e for e in by_type("terminal_command") if "format" in e.args)

    changes = [
        e for e in events if e.__struct_config__.tag in ("edit", "file_changed", "file_created")
    ]
    authors = {(e.__struct_config__.tag, e.path): e.author for e in changes}
    assert len(changes) == len(authors) == 4, [(e.__struct_config__.tag, e.path) for e in changes]
    assert authors[("edit", "human.py")].kind == "human"
    agent_change = authors[("file_changed", "agent.py")]
    assert (agent_change.kind, agent_change.agent, agent_change.model) == (
        "agent",
        "claude-code",
        model,
    )
    assert agent_change.event_id == calls["Edit"].id
    bash_change = authors[("file_created", "gen.py")]
    assert (bash_change.kind, bash_change.event_id) == ("agent", calls["Bash"].id)
    fmt_change = authors[("file_changed", "fmt.py")]
    assert (fmt_change.kind, fmt_change.event_id) == ("command", command.id)

    attribution = trace.artifacts.attribution
    assert attribution is not None
    per_file = {f.path: f for f in attribution.files}
    assert {
        k: (v.lines.human, v.lines.agent, v.lines.command, v.lines.unknown)
        for k, v in per_file.items()
    } == {
        "human.py": (2, 0, 0, 0),
        "agent.py": (0, 2, 0, 0),
        "gen.py": (0, 1, 0, 0),
        "fmt.py": (0, 0, 1, 0),
    }
    assert [(r.start_line, r.end_line, r.event_id) for r in per_file["agent.py"].ranges] == [
        (2, 3, calls["Edit"].id)
    ]

    done = subprocess.run(
        [*prtrace_cmd(), "trace", "export", started["trace_id"], "--format", "agent-trace"],
        env=env,
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    record = json.loads(done.stdout)
    assert record["vcs"] == {"type": "git", "revision": trace.task.commit}
    contributors = {
        f["path"]: [
            (c["contributor"]["type"], c["contributor"].get("model_id")) for c in f["conversations"]
        ]
        for f in record["files"]
    }
    assert contributors == {
        "human.py": [("human", None)],
        "agent.py": [("ai", model)],
        "gen.py": [("ai", model)],
        "fmt.py": [("unknown", None)],
    }
    fmt_conv = next(f for f in record["files"] if f["path"] == "fmt.py")["conversations"][0]
    assert fmt_conv["metadata"]["prtrace"]["author"] == "command"
    assert fmt_conv["related"][0]["type"] == "terminal_command"
    with Client(prtrace_server.url, prtrace_server.api_token) as api:
        assert api.get_agent_trace(started["trace_id"])["files"] == record["files"]
