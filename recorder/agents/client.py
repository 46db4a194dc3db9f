"""``prtrace hook claude-code|cursor``: the agent's hook command, fast and failing open.

The agent runs it for every hook with the payload on stdin. It finds the
recorded workspace (the payload's ``cwd``, the agent's project folder, or the
current folder: the nearest ``.prtrace/hook/``) and hands the payload, with the
time it was called, to the session's daemon over its loopback socket
(:func:`prtrace.recorder.terminal.hook_socket.send_message`). It writes nothing
to disk (the raw prompt must not reach a file before the redactor, docs/privacy.md)
and prints nothing, so it can neither fill a disk nor change what the agent does.
No workspace, no daemon, bad JSON, any error at all: it returns at once and the
hook exits 0, so the agent goes on as if there were no hook.

Only the standard library is imported here, and no more of prtrace than the
socket's client, to keep the hook's start-up short.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import IO

MAX_STDIN = 8 * 1024 * 1024
CONNECT_TIMEOUT = 0.5


def _start_dir(payload: dict[str, object], env: Mapping[str, str]) -> Path:
    cwd = payload.get("cwd")
    if isinstance(cwd, str) and cwd:
        return Path(cwd)
    roots = payload.get("workspace_roots")
    if isinstance(roots, list) and roots and isinstance(roots[0], str):
        return Path(roots[0])
    for name in ("CLAUDE_PROJECT_DIR", "CURSOR_PROJECT_DIR"):
        if env.get(name):
            return Path(env[name])
    return Path.cwd()


def forward(agent: str, stdin: IO[bytes], env: Mapping[str, str] | None = None) -> bool:
    """Send one hook payload to the daemon; True if one took it. Never raises."""
    t = time.time()
    try:
        from prtrace.recorder.terminal.hook_socket import find_hook_dir, send_message

        raw = stdin.read(MAX_STDIN + 1)
        if len(raw) > MAX_STDIN:
            return False
        payload = json.loads(raw)
        if not isinstance(payload, dict):
            return False
        hook_dir = find_hook_dir(_start_dir(payload, env if env is not None else os.environ))
        if hook_dir is None:
            return False
        body = json.dumps({"t": t, "payload": payload}).encode()
        return send_message(hook_dir, f"agent:{agent}", body, timeout=CONNECT_TIMEOUT)
    except Exception:  # noqa: BLE001 - fail open: the agent must never see an error from us
        return False
