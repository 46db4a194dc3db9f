"""Cursor's agent hooks (``.cursor/hooks.json``), as a dialect of :mod:`prtrace.recorder.agents.base`.

From Cursor's documented payloads: every hook has ``hook_event_name``
(camelCase), ``conversation_id``, ``generation_id`` and ``workspace_roots``
(and ``model``/``cursor_version`` where the build sends them).
``beforeSubmitPrompt`` has ``prompt``; ``beforeShellExecution`` ``command`` and
``cwd``; ``afterShellExecution`` ``command``, ``output`` and ``duration``;
``afterFileEdit`` ``file_path`` and ``edits`` (``old_string``/``new_string``);
``stop`` ``status``. There is no hook before a file edit, so an edit's change is
the agent's only if the watcher noticed it within
:data:`~prtrace.recorder.agents.base.POST_ONLY_WINDOW` of ``afterFileEdit``
(docs/agents.md); shell commands pair ``before``/``after`` by conversation and
command.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from prtrace.recorder.agents.base import (
    INPUT_CAP,
    HookEvent,
    HookKind,
    ToolSummary,
    capped,
    command_output,
)

NAME = "cursor"
EVENTS: tuple[str, ...] = (
    "beforeSubmitPrompt",
    "beforeShellExecution",
    "afterShellExecution",
    "afterFileEdit",
    "stop",
)
_KINDS: dict[str, tuple[HookKind, str | None]] = {
    "sessionStart": ("session_start", None),
    "beforeSubmitPrompt": ("prompt", None),
    "beforeShellExecution": ("tool_pre", "Shell"),
    "afterShellExecution": ("tool_post", "Shell"),
    "afterFileEdit": ("tool_post", "Edit"),
    "stop": ("stop", None),
    "sessionEnd": ("session_end", None),
}


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


@dataclass
class Cursor:
    name: str = NAME

    def parse(self, payload: dict[str, Any]) -> list[HookEvent]:
        found = _KINDS.get(str(payload.get("hook_event_name", "")))
        if found is None:
            return []
        kind, tool = found
        roots = payload.get("workspace_roots")
        cwd = _str(payload.get("cwd")) or (
            _str(roots[0]) if isinstance(roots, list) and roots else None
        )
        conversation = _str(payload.get("conversation_id"))
        tool_use_id = None
        tool_input: dict[str, Any] = {}
        if tool == "Shell":
            command = str(payload.get("command", ""))
            tool_use_id = f"{conversation}:{command}"  # before/after share nothing else
            tool_input = {"command": command}
        elif tool == "Edit":
            tool_input = {"file_path": payload.get("file_path"), "edits": payload.get("edits")}
        duration = payload.get("duration")
        return [
            HookEvent(
                kind=kind,
                session_id=conversation,
                cwd=cwd,
                model=_str(payload.get("model")),
                version=_str(payload.get("cursor_version")),
                reason=_str(payload.get("status")) or _str(payload.get("reason")),
                prompt=payload.get("prompt") if isinstance(payload.get("prompt"), str) else None,
                tool=tool,
                tool_use_id=tool_use_id,
                tool_input=tool_input,
                tool_response={"output": payload.get("output")} if kind == "tool_post" else None,
                duration_ms=float(duration) if isinstance(duration, (int, float)) else None,
            )
        ]

    def summarize(self, tool: str, tool_input: Any, tool_response: Any) -> ToolSummary:
        data = tool_input if isinstance(tool_input, dict) else {}
        if tool == "Shell":
            command = str(data.get("command", ""))
            text, cut = capped(command, INPUT_CAP * 4)
            output = ""
            out_cut = False
            if isinstance(tool_response, dict) and tool_response.get("output") is not None:
                output, out_cut = command_output(str(tool_response["output"]), "")
            return ToolSummary(input=text, output=output, command=command, truncated=cut or out_cut)
        path = _str(data.get("file_path"))
        return ToolSummary(input=path or "", files=[path] if path else [])

    def model_from(self, hook: HookEvent) -> tuple[str | None, str | None]:
        return None, None


def dialect() -> Cursor:
    return Cursor()
