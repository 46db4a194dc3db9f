"""The agent's run with prtrace's hooks and the daemon down, beside the same run without hooks.

The real Claude Code CLI (``./dev test`` installs it; or ``--claude PATH``) runs one
scripted session against the fake Anthropic API of the tests: it writes a file, edits
it, runs Bash and reads a file, ``--tools`` times over, so every hook fires on every
tool call (PreToolUse, PostToolUse) and once per session (SessionStart,
UserPromptSubmit, Stop, SessionEnd). Each round runs, in a fresh copy of the repo,
interleaved so load drifts hit all alike:

- ``no hooks``: no ``.claude/settings.json``;
- ``hooks, daemon down``: ``prtrace setup claude-code``'s hooks in a workspace whose
  daemon was killed -9 (its endpoint file is left behind, the port refuses);
- ``hooks, no workspace``: the same hooks in a folder that is not recorded;
- ``hooks, daemon up``: a live daemon that spools every hook (for reference).

Prints the median and spread of the wall time of a whole run per configuration, and
the extra time per hook call over ``no hooks``.

    python benchmarks/agent_hooks.py [--rounds 5] [--tools 4]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.support.agent_support import DEFAULT
from tests.support.fake_anthropic import FakeAnthropic, claude_env

PRTRACE = str(Path(sys.executable).with_name("prtrace"))


def script(tools: int) -> list[list[dict]]:
    turns: list[list[dict]] = []
    for i in range(tools):
        path = "{cwd}/" + f"f{i}.py"
        turns += [
            [
                {
                    "type": "tool_use",
                    "name": "Write",
                    "input": {"file_path": path, "content": f"x = {i}\n"},
                }
            ],
            [
                {
                    "type": "tool_use",
                    "name": "Edit",
                    "input": {
                        "file_path": path,
                        "old_string": f"x = {i}",
                        "new_string": f"x = {i + 1}",
                    },
                }
            ],
            [{"type": "tool_use", "name": "Bash", "input": {"command": f"cat f{i}.py > g{i}.txt"}}],
            [{"type": "tool_use", "name": "Read", "input": {"file_path": path}}],
        ]
    return [*turns, [{"type": "text", "text": "done"}]]


def prepare(root: Path, config: str) -> Path:
    ws = root / config.replace(" ", "-").replace(",", "")
    shutil.rmtree(ws, ignore_errors=True)
    ws.mkdir(parents=True)
    subprocess.run(["git", "init", "-q"], cwd=ws, check=True)
    if config == "no hooks":
        return ws
    subprocess.run(
        [PRTRACE, "setup", "claude-code", "--repo", str(ws)], check=True, capture_output=True
    )
    if config == "hooks, no workspace":
        return ws
    (ws / ".prtrace.toml").write_text("[privacy]\n")
    hook = ws / ".prtrace" / "hook"
    hook.mkdir(parents=True)
    if config == "hooks, daemon down":
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        (hook / "endpoint").write_text(f"{port} {'0' * 32}\n")  # a daemon killed -9
    else:
        from prtrace.recorder.session import daemon

        daemon.spawn(ws)
    return ws


def run_once(claude: str, ws: Path, home: Path, fake: FakeAnthropic) -> float:
    env = claude_env(str(home), fake.url, os.environ["PATH"])
    start = time.monotonic()
    done = subprocess.run(
        [claude, "-p", "go", "--dangerously-skip-permissions", "--output-format", "json"],
        cwd=ws,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    took = time.monotonic() - start
    if done.returncode != 0 or json.loads(done.stdout).get("subtype") != "success":
        raise SystemExit(f"claude failed in {ws}: {done.stderr[-1000:]}")
    return took


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--tools", type=int, default=4, help="Write+Edit+Bash+Read groups per run")
    parser.add_argument("--claude", default=os.environ.get("PRTRACE_CLAUDE_CODE") or str(DEFAULT))
    args = parser.parse_args()
    configs = ["no hooks", "hooks, daemon down", "hooks, no workspace", "hooks, daemon up"]
    times: dict[str, list[float]] = {c: [] for c in configs}
    hook_calls = 4 * args.tools * 2 + 4
    with tempfile.TemporaryDirectory() as tmp, FakeAnthropic(script(args.tools)) as fake:
        root = Path(tmp)
        for _ in range(args.rounds):
            for config in configs:
                ws = prepare(root, config)
                try:
                    times[config].append(run_once(args.claude, ws, root / "home", fake))
                finally:
                    if config == "hooks, daemon up":
                        from prtrace.recorder.session import daemon

                        daemon.stop(ws)
    base = statistics.median(times["no hooks"])
    print(f"{args.rounds} rounds, {4 * args.tools} tool calls and {hook_calls} hook calls per run")
    print("| configuration | median s per run | min–max | extra per hook call |")
    print("| --- | --- | --- | --- |")
    for config in configs:
        median = statistics.median(times[config])
        extra = "" if config == "no hooks" else f"{(median - base) / hook_calls * 1000:+.0f} ms"
        print(
            f"| {config} | {median:.2f} | {min(times[config]):.2f}–{max(times[config]):.2f} | {extra} |"
        )
    load = os.getloadavg()[0]
    print(
        f"\nMachine: {platform.system()} {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, load average {load:.1f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
