"""``prtrace setup claude-code``: the hooks that record Claude Code, in ``.claude/settings.json``.

One hook per event of :data:`prtrace.recorder.agents.claude_code.EVENTS`, each
running ``prtrace hook claude-code`` (which always exits 0 at once: it never
blocks a tool). Merged into the repository's ``.claude/settings.json`` beside
the user's own hooks; ours are the entries whose command is that hook command,
so running setup again changes nothing and ``--undo`` removes only them.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prtrace.recorder.agents.claude_code import EVENTS
from prtrace.recorder.setup.base import Action, Check, SetupContext, merge_json

SETTINGS = Path(".claude") / "settings.json"
MARK = "hook claude-code"
TIMEOUT = 10
"""Seconds Claude Code may give our hook (it returns in well under one)."""
_TOOL_EVENTS = ("PreToolUse", "PostToolUse")


def hook_command(prtrace: str) -> str:
    """``prtrace hook claude-code``, started only while the workspace's daemon lives.

    Claude Code runs a hook through ``sh -c`` and waits for it. The guard costs the
    shell's two builtins (``read`` the daemon's pid file, ``kill -0`` it), so with no
    daemon — stopped, or killed and its pid file stale — no Python starts at all and
    the agent's run takes what it takes without hooks (docs/benchmarks.md).
    """
    return (
        'd="${CLAUDE_PROJECT_DIR:-.}/.prtrace"; read -r p 2>/dev/null < "$d/daemon.pid" '
        f'&& kill -0 "$p" 2>/dev/null && exec {shlex.quote(prtrace)} {MARK}; exit 0'
    )


def _ours(entry: Any) -> bool:
    hooks = entry.get("hooks") if isinstance(entry, dict) else None
    return isinstance(hooks, list) and any(
        isinstance(h, dict) and f" {MARK}" in str(h.get("command", "")) for h in hooks
    )


def _our_entry(event: str, prtrace: str) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "hooks": [{"type": "command", "command": hook_command(prtrace), "timeout": TIMEOUT}]
    }
    if event in _TOOL_EVENTS:
        entry = {"matcher": "*", **entry}
    return entry


def _hooks(data: dict[str, Any]) -> dict[str, Any]:
    from prtrace.errors import ConfigError

    hooks = data.setdefault("hooks", {})
    if not isinstance(hooks, dict):
        raise ConfigError('.claude/settings.json: "hooks" is not an object; fix it by hand')
    return hooks


@dataclass
class ClaudeCodeTarget:
    name: str = "claude-code"

    def settings(self, ctx: SetupContext) -> Path:
        return ctx.repo / SETTINGS

    def install(self, ctx: SetupContext) -> list[Action]:
        def change(data: dict[str, Any]) -> None:
            hooks = _hooks(data)
            for event in EVENTS:
                entries = hooks.get(event)
                entries = entries if isinstance(entries, list) else []
                kept = [e for e in entries if not _ours(e)]
                hooks[event] = [*kept, _our_entry(event, ctx.prtrace)]

        return [merge_json(ctx, self.settings(ctx), change)]

    def undo(self, ctx: SetupContext) -> list[Action]:
        path = self.settings(ctx)
        if not path.exists():
            return [Action("unchanged", path)]

        def change(data: dict[str, Any]) -> None:
            hooks = data.get("hooks")
            if not isinstance(hooks, dict):
                return
            for event in list(hooks):
                entries = hooks[event]
                if not isinstance(entries, list):
                    continue
                kept = [e for e in entries if not _ours(e)]
                if kept:
                    hooks[event] = kept
                else:
                    del hooks[event]
            if not hooks:
                del data["hooks"]

        action = merge_json(ctx, path, change)
        return [Action("removed", path) if action.kind == "updated" else action]

    def check(self, ctx: SetupContext) -> list[Check]:
        import json

        path = self.settings(ctx)
        try:
            hooks = json.loads(path.read_text(encoding="utf-8")).get("hooks", {})
            missing = [e for e in EVENTS if not any(_ours(x) for x in hooks.get(e, []))]
        except (OSError, ValueError, AttributeError):
            missing = list(EVENTS)
        ok = not missing
        return [
            Check(
                "claude-code hooks",
                ok,
                f"{path} runs prtrace hook claude-code"
                if ok
                else f"{path} lacks prtrace's hooks for {', '.join(missing)}",
                "" if ok else "prtrace setup claude-code",
            )
        ]


def target(name: str) -> ClaudeCodeTarget:
    return ClaudeCodeTarget(name)
