"""A trace document as a trajectory in the ATIF shape (Agent Trajectory Interchange Format).

ATIF (Harbor's RFC 0001) records an agent run as ``steps``, each with a
``source`` (``system``, ``user``, ``agent``), a ``message``, optional
``reasoning_content``, ``tool_calls`` (``tool_call_id``, ``function_name``,
``arguments``) and an ``observation`` whose ``results`` answer the calls by
``source_call_id``. A human session maps onto it directly:

* step 1 is the task, from the ``user`` (the problem statement);
* each event is one step of the developer (``agent``): every event is already
  one action or one coalesced burst (an ``edit`` is a burst of keystrokes);
  edits, file changes, commands, navigation and git as a tool call whose
  observation is what came back (the diff, the output and exit code, the
  targets); a note (``thought``) as ``reasoning_content``; diagnostics, which
  nobody asked for, as ``system`` steps;
* the last step is QA's verdict, from the ``system``.

``arguments`` and ``extra`` are JSON strings (see :mod:`.features`); each
step's ``extra`` names the event it came from (``event_id``, ``event_type``,
``author`` when the event has one) so a row can be joined back to its trace.
"""

from __future__ import annotations

import json
from typing import Any

from prtrace import __version__

SCHEMA_VERSION = "ATIF-v1.4"

_dumps = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode

_ENVELOPE = frozenset({"type", "id", "t", "session_id", "source", "author"})
_OUTPUT_FIELDS = frozenset({"stdout", "stderr", "patch_unified", "targets", "items", "output_blob"})

_FUNCTIONS = {
    "file_opened": "open_file",
    "file_closed": "close_file",
    "file_saved": "save_file",
    "edit": "edit_file",
    "go_to_definition": "go_to_definition",
    "find_references": "find_references",
    "rename": "rename_symbol",
    "code_action": "code_action",
    "file_created": "create_file",
    "file_deleted": "delete_file",
    "file_changed": "write_file",
    "file_moved": "move_file",
    "terminal_command": "run_command",
    "commit_made": "git_commit",
    "branch_switched": "git_checkout",
    "push_remote": "git_push",
    "pr_opened": "open_pull_request",
}
"""Event type → the tool call's ``function_name`` (an unknown type keeps its own name)."""


def _command_output(event: dict[str, Any]) -> str:
    parts = [event.get("stdout") or ""]
    if event.get("stderr"):
        parts.append(event["stderr"])
    text = "\n".join(p for p in parts if p)
    if event.get("exit_code") is not None:
        text += ("\n" if text else "") + f"[exit code {event['exit_code']}]"
    return text


def _targets(event: dict[str, Any]) -> str:
    lines = [f"{t.get('path')}:{t.get('line')}" for t in event.get("targets") or []]
    if not lines and event.get("files"):
        lines = list(event["files"])
    return "\n".join(lines) if lines else "(no result)"


def _observation_text(event: dict[str, Any]) -> str:
    kind = event.get("type")
    if kind == "terminal_command":
        return _command_output(event)
    if kind in ("go_to_definition", "find_references"):
        return _targets(event)
    if event.get("patch_unified"):
        return str(event["patch_unified"])
    if kind == "commit_made":
        return str(event.get("hash", ""))
    if kind == "push_remote" and event.get("exit_code") is not None:
        return f"[exit code {event['exit_code']}]"
    return ""


def _step_extra(event: dict[str, Any]) -> str:
    extra = {"event_id": event.get("id"), "event_type": event.get("type")}
    for key in ("author", "source", "session_id"):
        if event.get(key) is not None:
            extra[key] = event[key]
    return _dumps(extra)


def event_step(event: dict[str, Any], step_id: int) -> dict[str, Any]:
    """One event as one ATIF step."""
    kind = str(event.get("type"))
    step: dict[str, Any] = {
        "step_id": step_id,
        "timestamp": event.get("t"),
        "source": "agent",
        "message": "",
        "reasoning_content": None,
        "tool_calls": None,
        "observation": None,
        "extra": _step_extra(event),
    }
    if kind == "thought":
        step["reasoning_content"] = event.get("raw", "")
        return step
    if kind == "diagnostics":
        step["source"] = "system"
        counts = ", ".join(
            f"{event.get(k, 0)} {k}" for k in ("errors", "warnings", "information", "hints")
        )
        step["message"] = f"diagnostics for {event.get('path')}: {counts}"
        items = [
            f"{i.get('range', {}).get('start', {}).get('line', 0) + 1}: "
            f"{i.get('severity')}: {i.get('message')}"
            for i in event.get("items") or []
        ]
        if items:
            step["observation"] = {
                "results": [{"source_call_id": None, "content": "\n".join(items)}]
            }
        return step
    call_id = f"call_{event.get('id')}"
    arguments = {k: v for k, v in event.items() if k not in _ENVELOPE and k not in _OUTPUT_FIELDS}
    step["tool_calls"] = [
        {
            "tool_call_id": call_id,
            "function_name": _FUNCTIONS.get(kind, kind),
            "arguments": _dumps(arguments),
        }
    ]
    step["observation"] = {
        "results": [{"source_call_id": call_id, "content": _observation_text(event)}]
    }
    return step


def trajectory_row(doc: dict[str, Any], instance_id: str, problem: str) -> dict[str, Any]:
    """The whole trace as one ATIF trajectory (one row of the ``trajectories`` table)."""
    events = doc.get("events") or []
    steps: list[dict[str, Any]] = [
        {
            "step_id": 1,
            "timestamp": doc.get("created_at"),
            "source": "user",
            "message": problem,
            "reasoning_content": None,
            "tool_calls": None,
            "observation": None,
            "extra": _dumps({"task": instance_id}),
        }
    ]
    for event in events:
        steps.append(event_step(event, len(steps) + 1))
    tests = (doc.get("qa") or {}).get("tests") or {}
    verdict = tests.get("verdict")
    summary = {
        k: tests.get(k)
        for k in ("verdict", "passed", "failed", "exit_code", "fail_to_pass", "pass_to_fail")
        if tests.get(k) is not None
    }
    steps.append(
        {
            "step_id": len(steps) + 1,
            "timestamp": (doc.get("qa") or {}).get("updated_at") or doc.get("sealed_at"),
            "source": "system",
            "message": f"QA verdict: {verdict or 'none'}",
            "reasoning_content": None,
            "tool_calls": None,
            "observation": {"results": [{"source_call_id": None, "content": _dumps(summary)}]},
            "extra": _dumps({"event_type": "qa"}),
        }
    )
    environment = doc.get("environment") or {}
    return {
        "schema_version": SCHEMA_VERSION,
        "session_id": doc.get("trace_id"),
        "instance_id": instance_id,
        "trace_id": doc.get("trace_id"),
        "agent": {
            "name": "prtrace-human",
            "version": environment.get("recorder_version") or __version__,
        },
        "steps": steps,
        "notes": (
            "A human developer's recorded session (prtrace): events as steps, the developer "
            "as the agent; verified by QA in Docker."
        ),
        "final_metrics": {"total_steps": len(steps)},
        "verdict": verdict,
        "extra": _dumps(
            {
                "editor": environment.get("editor"),
                "shell": environment.get("shell"),
                "developer": (doc.get("developer") or {}).get("id"),
            }
        ),
    }
