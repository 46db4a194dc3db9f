"""``prtrace hook claude-code`` against a real session daemon: fail-open and fast without
one, nothing lost that it accepted, the shell records' wire format still understood on the
same socket, and the privacy corpus through the agent path (prompt, tool input and output,
a written file) never in the spool, the server or an export."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from prtrace.client import Client
from prtrace.recorder.session import daemon
from tests.support.lsp_support import proxy_env, prtrace_cmd
from tests.support.privacy_corpus import CORPUS, needles
from tests.support.terminal_support import spooled, wait_for

RECORD = b"\x1e1.0\t2.5\t0\t/w\nmake test\x1f\n"
EVERY_NEEDLE = sorted({n for _, secret, _ in CORPUS for n in needles(secret)})


def _hook(ws: Path, payload: bytes, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*prtrace_cmd(), "hook", "claude-code"],
        input=payload,
        cwd=cwd or ws,
        env=proxy_env(ws),
        capture_output=True,
        timeout=60,
        check=False,
    )


def _payload(ws: Path, event: str, **fields: object) -> bytes:
    return json.dumps(
        {"hook_event_name": event, "session_id": "S1", "cwd": str(ws), **fields}
    ).encode()


@pytest.fixture
def ws(tmp_path: Path):
    root = tmp_path / "ws"
    root.mkdir()
    (root / ".prtrace.toml").write_text("[privacy]\n")
    yield root
    daemon.stop(root, timeout=10)


def test_without_a_daemon_the_hook_exits_0_at_once_and_says_nothing(ws: Path) -> None:
    prompt = _payload(ws, "UserPromptSubmit", prompt="hello")
    for payload, where in (
        (prompt, ws),  # not recorded: no .prtrace/hook
        (b"{not json", ws),
        (b"", ws),
        (b"[1, 2]", ws),
    ):
        done = _hook(ws, payload, where)
        assert (done.returncode, done.stdout, done.stderr) == (0, b"", b"")
    # A daemon that was killed -9: its endpoint file stays, the port refuses.
    hook = ws / ".prtrace" / "hook"
    hook.mkdir(parents=True)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    (hook / "endpoint").write_text(f"{port} deadbeef\n")
    done = _hook(ws, prompt)
    assert (done.returncode, done.stdout, done.stderr) == (0, b"", b"")
    assert sorted(p.name for p in hook.iterdir()) == ["endpoint"]  # nothing written


def test_nothing_the_daemon_accepted_is_lost(ws: Path) -> None:
    daemon.spawn(ws)
    payloads = [_payload(ws, "UserPromptSubmit", prompt=f"prompt number {i}") for i in range(40)]
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda p: _hook(ws, p), payloads))
    assert all(r.returncode == 0 for r in results)
    # The shell hook's records still work on the same socket, beside the agent's messages.
    port, token = (ws / ".prtrace" / "hook" / "endpoint").read_text().split()
    with socket.create_connection(("127.0.0.1", int(port))) as conn:
        conn.sendall(token.encode() + b"\n" + RECORD)
    daemon.stop(ws)  # at once: what it accepted is in the spool
    prompts = sorted(e["prompt"] for e in spooled(ws, "agent_prompt"))
    assert prompts == sorted(f"prompt number {i}" for i in range(40))
    assert [e["cmd"] for e in spooled(ws, "terminal_command")] == ["make test"]


def _leaks(blob: bytes) -> list[str]:
    return [n for n in EVERY_NEEDLE if n.encode() in blob]


def _grep_tree(root: Path) -> dict[str, list[str]]:
    found = {}
    for path in root.rglob("*"):
        if path.is_file():
            leaks = _leaks(path.read_bytes())
            if leaks:
                found[str(path)] = leaks[:3]
    return found


def test_secrets_through_the_agent_path_are_never_stored(tmp_path: Path, prtrace_server) -> None:
    ws = tmp_path / "repo"
    ws.mkdir()
    (ws / "app.py").write_text("x = 1\n")
    git = ["git", "-c", "user.email=d@e.com", "-c", "user.name=D"]
    subprocess.run([*git, "init", "-q"], cwd=ws, check=True)
    subprocess.run([*git, "add", "-A"], cwd=ws, check=True)
    subprocess.run([*git, "commit", "-qm", "i"], cwd=ws, check=True)
    env = proxy_env(ws, PRTRACE_URL=prtrace_server.url, PRTRACE_API_TOKEN=prtrace_server.api_token)

    def cli(*args: str) -> subprocess.CompletedProcess:
        done = subprocess.run(
            [*prtrace_cmd(), *args], env=env, cwd=ws, capture_output=True, text=True, timeout=180
        )
        assert done.returncode == 0, done.stderr
        return done

    started = json.loads(cli("record", "start", "--json").stdout)
    try:
        lines = [line.format(s=secret) for _, secret, line in CORPUS]
        third = len(lines) // 3
        prompts, commands, written = lines[:third], lines[third : 2 * third], lines[2 * third :]
        sent = [_payload(ws, "SessionStart", source="startup", model="claude-fake")]
        sent += [_payload(ws, "UserPromptSubmit", prompt=p) for p in prompts]
        for i, line in enumerate(commands):
            call = {
                "tool_name": "Bash",
                "tool_use_id": f"b{i}",
                "tool_input": {"command": f"echo {line!r}"},
            }
            sent.append(_payload(ws, "PreToolUse", **call))
            sent.append(
                _payload(ws, "PostToolUse", tool_response={"stdout": line, "stderr": line}, **call)
            )
        target = ws / "settings.py"
        write = {
            "tool_name": "Write",
            "tool_use_id": "w1",
            "tool_input": {"file_path": str(target), "content": "\n".join(written)},
        }
        sent.append(_payload(ws, "PreToolUse", **write))
        for payload in sent:
            assert _hook(ws, payload).returncode == 0
        target.write_text("\n".join(written) + "\n")  # what the agent's Write does
        assert (
            _hook(
                ws, _payload(ws, "PostToolUse", tool_response={"type": "create"}, **write)
            ).returncode
            == 0
        )
        stop = _payload(ws, "Stop", last_assistant_message=" ".join(prompts[:3]))
        assert _hook(ws, stop).returncode == 0
        wait_for(lambda: spooled(ws, "file_created"), what="the agent's file")
        cli("record", "stop", "--json")
    finally:
        daemon.stop(ws, timeout=10)

    assert _grep_tree(ws / ".prtrace") == {}
    assert _grep_tree(prtrace_server.home) == {}
    with Client(prtrace_server.url, prtrace_server.api_token) as api:
        document = bytes(api.get_trace_raw(started["trace_id"]))
        agent_trace = json.dumps(api.get_agent_trace(started["trace_id"])).encode()
        trace = api.get_trace(started["trace_id"])
    exported = cli("trace", "export", started["trace_id"], "--format", "agent-trace").stdout
    assert _leaks(document) == [] and _leaks(agent_trace) == [] and _leaks(exported.encode()) == []
    kinds = [e.__struct_config__.tag for e in trace.events]
    assert kinds.count("agent_prompt") == len(prompts)
    assert kinds.count("agent_tool_call") == len(commands) + 1
    assert "<redacted:" in document.decode()
    created = next(e for e in trace.events if getattr(e, "path", None) == "settings.py")
    assert created.author is not None and created.author.kind == "agent"
    assert trace.artifacts.attribution is not None
    lines = trace.artifacts.attribution.lines  # counted over the redacted file
    assert lines.agent >= len(written) - 2 and (lines.human, lines.command, lines.unknown) == (
        0,
        0,
        0,
    )


def test_the_hook_costs_no_more_than_a_python_start(ws: Path) -> None:
    """Not a timing threshold: the hook does its work in one short process, whether or
    not a daemon listens (the figures are in docs/benchmarks.md)."""
    start = time.monotonic()
    done = _hook(ws, _payload(ws, "PreToolUse", tool_name="Read", tool_input={}))
    assert done.returncode == 0 and time.monotonic() - start < 60
    assert sys.executable
