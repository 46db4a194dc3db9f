"""Claude Code's hooks (``.claude/settings.json``), as a dialect of :mod:`prtrace.recorder.agents.base`.

Every payload has ``session_id``, ``transcript_path``, ``cwd`` and
``hook_event_name``; PreToolUse adds ``tool_name``, ``tool_input`` and
``tool_use_id``, PostToolUse also ``tool_response`` (Bash: ``stdout``,
``stderr``, ``interrupted``; Write/Edit: ``filePath``, ``structuredPatch``…),
UserPromptSubmit ``prompt``, Stop ``last_assistant_message``, SessionEnd
``reason``, SessionStart ``source`` (and ``model`` in some versions). The model
and the CLI's version are otherwise read from the transcript (JSON lines, each
assistant line with ``message.model`` and ``version``), off the agent's path: the
daemon reads it, not the hook.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from prtrace.recorder.agents.base import (
    INPUT_CAP,
    RESULT_CAP,
    HookEvent,
    HookKind,
    ToolSummary,
    as_text,
    capped,
    command_output,
)

NAME = "claude-code"
EVENTS: tuple[str, ...] = (
    "SessionStart",
    "UserPromptSubmit",
    "PreToolUse",
    "PostToolUse",
    "Stop",
    "SessionEnd",
)
"""The hooks ``prtrace setup claude-code`` installs."""
_KINDS: dict[str, HookKind] = {
    "SessionStart": "session_start",
    "UserPromptSubmit": "prompt",
    "PreToolUse": "tool_pre",
    "PostToolUse": "tool_post",
    "PostToolUseFailure": "tool_failed",
    "Stop": "stop",
    "SessionEnd": "session_end",
}
FILE_TOOLS = ("Write", "Edit", "MultiEdit", "NotebookEdit")
COMMAND_TOOLS = ("Bash",)
TRANSCRIPT_TAIL = 256 * 1024


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


@dataclass
class ClaudeCode:
    name: str = NAME

    def parse(self, payload: dict[str, Any]) -> list[HookEvent]:
        kind = _KINDS.get(str(payload.get("hook_event_name", "")))
        if kind is None:
            return []
        response = payload.get("tool_response")
        duration = payload.get("duration_ms")
        if duration is None and isinstance(response, dict):
            duration = response.get("duration_ms") or response.get("durationMs")
        return [
            HookEvent(
                kind=kind,
                session_id=_str(payload.get("session_id")),
                cwd=_str(payload.get("cwd")),
                model=_model_name(payload.get("model")),
                version=_str(payload.get("version")),
                reason=_str(payload.get("reason")) or _str(payload.get("source")),
                prompt=payload.get("prompt") if isinstance(payload.get("prompt"), str) else None,
                message=_str(payload.get("last_assistant_message")),
                tool=_str(payload.get("tool_name")),
                tool_use_id=_str(payload.get("tool_use_id")),
                tool_input=payload.get("tool_input"),
                tool_response=response,
                duration_ms=float(duration) if isinstance(duration, (int, float)) else None,
                error=_str(payload.get("error")),
                transcript=_str(payload.get("transcript_path")),
            )
        ]

    def summarize(self, tool: str, tool_input: Any, tool_response: Any) -> ToolSummary:
        data = tool_input if isinstance(tool_input, dict) else {}
        result = tool_response if isinstance(tool_response, dict) else {}
        if tool in COMMAND_TOOLS:
            command = str(data.get("command", ""))
            text, cut = capped(command, INPUT_CAP * 4)
            output, out_cut = command_output(
                str(result.get("stdout", "") or ""), str(result.get("stderr", "") or "")
            )
            code = result.get("exit_code", result.get("exitCode"))
            return ToolSummary(
                input=text,
                output=output if tool_response is not None else "",
                command=command,
                exit_code=code if isinstance(code, int) else None,
                truncated=cut or out_cut,
            )
        if tool in FILE_TOOLS:
            path = _str(data.get("file_path")) or _str(data.get("notebook_path"))
            path = path or _str(result.get("filePath"))
            kind = _str(result.get("type"))
            return ToolSummary(input=path or "", output=kind or "", files=[path] if path else [])
        text, cut = as_text(tool_input, INPUT_CAP)
        output, out_cut = as_text(tool_response, RESULT_CAP)
        return ToolSummary(input=text, output=output, truncated=cut or out_cut)

    def model_from(self, hook: HookEvent) -> tuple[str | None, str | None]:
        """The last assistant line's model and the CLI's version, from the transcript."""
        if not hook.transcript:
            return None, None
        try:
            with open(hook.transcript, "rb") as f:
                f.seek(0, 2)
                size = f.tell()
                f.seek(max(size - TRANSCRIPT_TAIL, 0))
                lines = f.read().splitlines()
        except OSError:
            return None, None
        model = version = None
        for line in reversed(lines):
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if not isinstance(entry, dict):
                continue
            version = version or _str(entry.get("version"))
            message = entry.get("message")
            if model is None and entry.get("type") == "assistant" and isinstance(message, dict):
                model = _str(message.get("model"))
            if model and version:
                break
        return model, version


def _model_name(value: Any) -> str | None:
    if isinstance(value, dict):  # some versions give {"id": ..., "display_name": ...}
        return _str(value.get("id")) or _str(value.get("display_name"))
    return _str(value)


def dialect() -> ClaudeCode:
    return ClaudeCode()
