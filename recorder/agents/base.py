"""AI coding agents as dialects of one recorder.

Every agent (Claude Code, Cursor, …) calls hooks of its own at the same moments —
a session starts, the developer submits a prompt, a tool is about to run, a tool
ran, a turn stopped, the session ended — each with a JSON payload of its own
shape. A :class:`Dialect` (one module per agent: ``claude_code.py``, ``cursor.py``)
turns its payloads into :class:`HookEvent` and summarises its tools'
inputs and results (:class:`ToolSummary`); everything else is said once, here,
in :class:`AgentRecorder`, which runs in the session's daemon:

* hook payloads arrive over the daemon's loopback socket
  (:mod:`prtrace.recorder.terminal.hook_socket`, kind ``agent:<dialect>``), sent by
  ``prtrace hook <dialect>`` (:mod:`prtrace.recorder.agents.client`);
* they become ``agent_session``, ``agent_prompt`` and ``agent_tool_call``
  events through the recorder's one emitter, so the privacy step redacts every
  string (prompt, command, output) before anything is written;
* a tool call that writes files (Write, Edit) or runs commands (Bash) is an
  *activity* from its PreToolUse to its PostToolUse
  (:mod:`prtrace.recorder.pipeline.provenance`), with the ``agent_tool_call``'s event id
  reserved at PreToolUse: the file watcher records the changes it makes once,
  with ``author: {kind: agent, agent, model, event_id}``.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

from prtrace import events as ev
from prtrace.recorder.pipeline import provenance
from prtrace.recorder.pipeline.emitter import EventEmitter
from prtrace.recorder.pipeline.spool import Spool
from prtrace.recorder.terminal.commands import OUTPUT_CAP, OutputBuffer

INPUT_CAP = 4096
"""Characters kept of a tool's input summary (JSON of anything but a command or a path)."""
RESULT_CAP = 4096
"""Characters kept of a result that is not a command's output."""
PROMPT_CAP = 64 * 1024
MESSAGE_CAP = 8192
POST_ONLY_WINDOW = 2.0
"""A file edit an agent reports only after the fact (Cursor's ``afterFileEdit``) is its own
if the watcher noticed it this many seconds before the report (the watcher's MAX_DELAY)."""
KIND_PREFIX = "agent:"

HookKind = Literal[
    "session_start", "prompt", "tool_pre", "tool_post", "tool_failed", "stop", "session_end"
]


@dataclass
class HookEvent:
    """One hook call, in the words every dialect shares."""

    kind: HookKind
    session_id: str | None = None
    cwd: str | None = None
    model: str | None = None
    version: str | None = None
    reason: str | None = None
    prompt: str | None = None
    message: str | None = None
    tool: str | None = None
    tool_use_id: str | None = None
    tool_input: Any = None
    tool_response: Any = None
    duration_ms: float | None = None
    error: str | None = None
    transcript: str | None = None
    """A file the agent keeps its conversation in (where the model can be read)."""


@dataclass
class ToolSummary:
    input: str = ""
    output: str = ""
    files: list[str] = field(default_factory=list)
    """Paths (as the agent gave them) the call writes."""
    command: str | None = None
    """The shell command it runs: then every file changed meanwhile is the call's."""
    exit_code: int | None = None
    truncated: bool = False


class Dialect(Protocol):
    name: str

    def parse(self, payload: dict[str, Any]) -> list[HookEvent]: ...

    def summarize(self, tool: str, tool_input: Any, tool_response: Any) -> ToolSummary: ...

    def model_from(self, hook: HookEvent) -> tuple[str | None, str | None]:
        """(model, agent version) when the payload does not say (e.g. from a transcript)."""
        ...


def capped(text: str, cap: int) -> tuple[str, bool]:
    if len(text) <= cap:
        return text, False
    buffer = OutputBuffer(cap)
    buffer.write(text)
    return buffer.text(), True


def as_text(value: Any, cap: int = RESULT_CAP) -> tuple[str, bool]:
    """A bounded text of any JSON value."""
    if value is None:
        return "", False
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return capped(text, cap)


def command_output(stdout: str, stderr: str) -> tuple[str, bool]:
    """A command's output, capped as terminal commands' are (:data:`OUTPUT_CAP`)."""
    text = stdout if not stderr else (f"{stdout}\n{stderr}" if stdout else stderr)
    return capped(text, OUTPUT_CAP)


@dataclass
class _Call:
    event_id: str
    start: float
    agent: str
    tool: str
    tool_use_id: str | None
    session_id: str | None
    summary: ToolSummary
    model: str | None
    activity: bool


class AgentRecorder:
    """Hook payloads → agent events and activities, in the daemon (one per workspace)."""

    def __init__(self, root: Path, dialects: dict[str, Dialect]) -> None:
        self.root = root
        self.dialects = dialects
        self._local = threading.local()
        """A spool connection per thread (the listener's, the daemon's at close)."""
        self._spools: list[Spool] = []
        self.emitter = EventEmitter(self.spool, source="agent")
        self._calls: dict[tuple[str, str], _Call] = {}
        self._models: dict[tuple[str, str | None], tuple[str | None, str | None]] = {}
        self._lock = threading.Lock()
        self.received = 0
        """Messages handled (tests, status)."""

    @property
    def spool(self) -> Spool:
        spool: Spool | None = getattr(self._local, "spool", None)
        if spool is None:
            spool = self._local.spool = Spool.for_workspace(self.root)
            self._spools.append(spool)
        return spool

    # --- from the hook socket ------------------------------------------------------

    def handle_message(self, kind: str, body: bytes) -> None:
        """One message of the hook socket; never raises (the listener must go on)."""
        if not kind.startswith(KIND_PREFIX):
            return
        dialect = self.dialects.get(kind[len(KIND_PREFIX) :])
        if dialect is None:
            return
        try:
            envelope = json.loads(body)
            payload = envelope["payload"]
            t = float(envelope["t"])
            if not isinstance(payload, dict):
                return
        except (ValueError, KeyError, TypeError):
            return
        with self._lock:
            try:
                self.emitter.spool = self.spool
                for hook in dialect.parse(payload):
                    self._handle(dialect, hook, t)
                self.emitter.flush()
                self.received += 1
            except Exception as exc:  # noqa: BLE001 - one bad payload must not stop the daemon
                sys.stderr.write(f"prtrace daemon: agent hook {kind}: {exc!r}\n")

    def close(self) -> None:
        """The daemon stops: calls still open are recorded as incomplete; spools closed."""
        with self._lock:
            try:
                self.emitter.spool = self.spool
                self._finish_open(None, None, last=True)
                self.emitter.flush()
            finally:
                for spool in self._spools:
                    spool.close()
                self._spools = []
                self._local = threading.local()

    # --- one hook ------------------------------------------------------------------

    def _recording(self) -> bool:
        privacy = self.emitter.privacy
        return privacy is not None and privacy.recording()

    def _model(self, dialect: Dialect, hook: HookEvent) -> tuple[str | None, str | None]:
        key = (dialect.name, hook.session_id)
        model, version = self._models.get(key, (None, None))
        if hook.model or hook.version:
            model, version = hook.model or model, hook.version or version
        if model is None or version is None:
            found_model, found_version = dialect.model_from(hook)
            model, version = model or found_model, version or found_version
        self._models[key] = (model, version)
        return model, version

    def _path(self, path: str, cwd: str | None) -> str:
        """Workspace-relative POSIX when inside the workspace, else as given (absolute)."""
        full = Path(path)
        if not full.is_absolute():
            full = Path(cwd or self.root) / full
        try:
            return Path(*full.resolve().relative_to(self.root.resolve()).parts).as_posix()
        except (ValueError, OSError):
            return str(full)

    def _handle(self, dialect: Dialect, hook: HookEvent, t: float) -> None:
        name = dialect.name
        if hook.kind in ("tool_pre", "tool_post", "tool_failed"):
            self._tool(dialect, hook, t)
            return
        model, version = self._model(dialect, hook)
        if hook.kind == "session_start":
            self.emitter.emit(
                ev.AgentSession,
                t,
                agent=name,
                agent_session_id=hook.session_id,
                phase="start",
                version=version,
                model=model,
                reason=hook.reason,
                cwd=hook.cwd and self._path(hook.cwd, None),
            )
        elif hook.kind == "prompt":
            prompt, truncated = capped(hook.prompt or "", PROMPT_CAP)
            self.emitter.emit(
                ev.AgentPrompt,
                t,
                agent=name,
                prompt=prompt,
                agent_session_id=hook.session_id,
                model=model,
                truncated=truncated,
            )
        elif hook.kind in ("stop", "session_end"):
            self._finish_open(name, hook.session_id, last=False, t=t)
            message = capped(hook.message, MESSAGE_CAP)[0] if hook.message else None
            self.emitter.emit(
                ev.AgentSession,
                t,
                agent=name,
                agent_session_id=hook.session_id,
                phase="stop" if hook.kind == "stop" else "end",
                version=version,
                model=model,
                reason=hook.reason,
                message=message,
            )

    def _tool(self, dialect: Dialect, hook: HookEvent, t: float) -> None:
        name = dialect.name
        tool = hook.tool or "unknown"
        key = (name, hook.tool_use_id or f"{hook.session_id}:{tool}:{hook.tool_input!r}")
        model, _ = self._model(dialect, hook)
        if hook.kind == "tool_pre":
            summary = dialect.summarize(tool, hook.tool_input, None)
            call = self._begin(name, hook, tool, summary, model, t)
            self._calls[key] = call
            return
        summary = dialect.summarize(tool, hook.tool_input, hook.tool_response)
        found = self._calls.pop(key, None)
        if found is not None:
            call = found
        else:  # no PreToolUse seen (its hook failed, or the agent has none)
            took = (hook.duration_ms or 0.0) / 1000
            call = self._begin(name, hook, tool, summary, model, t - max(took, POST_ONLY_WINDOW))
        status: Literal["ok", "error"] = "error" if hook.kind == "tool_failed" else "ok"
        if hook.kind == "tool_failed" and hook.error and not summary.output:
            summary.output, cut = capped(hook.error, RESULT_CAP)
            summary.truncated = summary.truncated or cut
        self._record(call, summary, t, status, hook.duration_ms)

    def _begin(
        self,
        name: str,
        hook: HookEvent,
        tool: str,
        summary: ToolSummary,
        model: str | None,
        start: float,
    ) -> _Call:
        event_id = self.emitter.reserve_id()
        files = [self._path(p, hook.cwd) for p in summary.files]
        summary.files = files
        activity = False
        if (files or summary.command is not None) and self._recording():
            author = ev.Author(kind="agent", agent=name, model=model, event_id=event_id)
            provenance.begin(
                self.spool,
                event_id,
                author,
                start,
                paths=files if summary.command is None else None,
            )
            activity = True
        return _Call(
            event_id, start, name, tool, hook.tool_use_id, hook.session_id, summary, model, activity
        )

    def _record(
        self,
        call: _Call,
        summary: ToolSummary,
        t: float,
        status: Literal["ok", "error", "denied", "incomplete"],
        duration_ms: float | None,
    ) -> None:
        files = [self._path(p, None) for p in summary.files] if summary.files else []
        files = sorted(set(files) | set(call.summary.files))
        if files and summary.command is None:
            summary.input = ", ".join(files)  # a file tool's input is its path, as recorded
        if call.activity:
            provenance.end(
                self.spool, call.event_id, t, paths=files if summary.command is None else None
            )
        privacy = self.emitter.privacy
        text_in, text_out = summary.input or call.summary.input, summary.output
        if privacy is not None:
            command = summary.command or call.summary.command
            if command is not None and not privacy.command_allowed(command):
                text_in, text_out = "[command excluded by prtrace's privacy settings]", ""
            if any(not privacy.path_allowed(p) for p in files):
                text_in, text_out = "[path excluded by prtrace's privacy settings]", ""
        if duration_ms is None:
            duration_ms = max(t - call.start, 0.0) * 1000
        self.emitter.emit(
            ev.AgentToolCall,
            call.start,
            event_id=call.event_id,
            agent=call.agent,
            tool=call.tool,
            agent_session_id=call.session_id,
            tool_use_id=call.tool_use_id,
            model=call.model,
            input=text_in,
            output=text_out,
            exit_code=summary.exit_code,
            duration_ms=round(duration_ms, 3),
            files=files,
            status=status,
            truncated=summary.truncated,
        )

    def _finish_open(
        self, name: str | None, session_id: str | None, *, last: bool, t: float | None = None
    ) -> None:
        now = t if t is not None else time.time()
        for key in list(self._calls):
            call = self._calls[key]
            if last or (key[0] == name and call.session_id == session_id):
                del self._calls[key]
                self._record(call, call.summary, now, "incomplete", None)
