"""Running the real Claude Code CLI in tests: where ``./dev`` installed it, and one run.

``./dev test`` installs ``@anthropic-ai/claude-code`` (pinned) into ``.tools/claude-code/``
and exports the platform binary's path as ``PRTRACE_CLAUDE_CODE``. A test that needs it
and finds none is skipped on a developer's machine and fails in CI
(:func:`tests.support.services.service_required`).
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from tests.support.fake_anthropic import FakeAnthropic, claude_env
from tests.support.services import service_required

ROOT = Path(__file__).resolve().parents[2]
DEFAULT = ROOT / ".tools/claude-code/node_modules/@anthropic-ai/claude-code-linux-x64/claude"


def claude_binary() -> str:
    found = os.environ.get("PRTRACE_CLAUDE_CODE") or (str(DEFAULT) if DEFAULT.exists() else "")
    if not found or not os.access(found, os.X_OK):
        service_required("the Claude Code CLI is not installed (./dev test installs it)")
    return found


def run_claude(
    ws: Path,
    home: Path,
    fake: FakeAnthropic,
    prompt: str,
    *,
    extra_env: dict[str, str] | None = None,
    timeout: float = 180,
) -> dict:
    """``claude -p PROMPT`` in ``ws`` against ``fake``; its JSON result (the run must end well)."""
    home.mkdir(parents=True, exist_ok=True)
    env = claude_env(str(home), fake.url, os.environ["PATH"])
    env.update(extra_env or {})
    done = subprocess.run(
        [
            claude_binary(),
            "-p",
            prompt,
            "--dangerously-skip-permissions",
            "--output-format",
            "json",
        ],
        cwd=ws,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert done.returncode == 0, f"claude exited {done.returncode}: {done.stderr[-2000:]}"
    result: dict = json.loads(done.stdout)
    assert result.get("subtype") == "success", result
    return result
