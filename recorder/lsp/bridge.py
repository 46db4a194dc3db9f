"""``prtrace editor-bridge --stdio``: an editor extension's events into the recorder.

The VS Code extension (``editor-configs/vscode/prtrace/``) cannot sit between the
editor and a language server — VS Code's language support comes from extensions
prtrace cannot wrap — so it reports what the editor API shows it to this child
process, one JSON object per line on stdin. There is no second recorder here:

* documents, edits, navigation and diagnostics arrive **LSP-shaped** (``{"t": …,
  "dir": "c2s"|"s2c", "lsp": {JSON-RPC message}}``: ``didOpen``, ``didChange``
  with UTF-16 ranges, ``didSave`` with the text, ``didClose``, a
  ``textDocument/definition`` or ``references`` request with its answer,
  ``publishDiagnostics``) and are fed to the LSP proxy's own
  :class:`~prtrace.recorder.lsp.recorder.LspRecorder`: the same document model,
  burst coalescing, ``patch_unified``, chained hashes and diagnostic counts;
* integrated-terminal commands (``terminal_start`` / ``terminal_output`` with the
  raw text of ``execution.read()`` / ``terminal_end``) are cleaned by
  :class:`~prtrace.recorder.terminal.ansi.TextCleaner`, capped by
  :class:`~prtrace.recorder.terminal.commands.SpillingOutput` and emitted by
  :func:`~prtrace.recorder.terminal.commands.emit_command`, as ``prtrace run`` does;
* a note (``{"kind": "note", "text": …, "tags": […]}``) is a ``thought``.

Everything goes through one :class:`~prtrace.recorder.pipeline.emitter.EventEmitter`
(the privacy step: opt-in, pause, exclusions, redaction) into the workspace's
spool, and a :class:`~prtrace.recorder.pipeline.uploader.BackgroundUploader`
sends it while a session exists, exactly once, like the LSP worker. The bridge
reports its state on stdout (``{"kind": "status", …}`` lines) when it starts
and whenever it is asked (``{"kind": "status"}``), so the extension can show it.

It fails open: a line it cannot read is counted and reported on stderr, never
fatal; when stdin closes it ends the open edit burst, spools, tries one last
upload round and exits 0.
"""

from __future__ import annotations

import json
import os
import queue
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import msgspec

from prtrace import events as ev
from prtrace.recorder.lsp.main import QUIET_TICK, Progress, _guard, _last_round, register
from prtrace.recorder.lsp.recorder import IDLE_GAP, LspRecorder
from prtrace.recorder.pipeline.emitter import EventEmitter
from prtrace.recorder.pipeline.privacy import Privacy, is_paused
from prtrace.recorder.terminal.ansi import TextCleaner
from prtrace.recorder.terminal.commands import (
    CommandRecord,
    SpillingOutput,
    emit_command,
    output_redactor,
    outputs_dir,
)

SOURCE = "vscode"
"""The events' ``source`` unless the extension names another editor (Cursor, VSCodium…)."""
MAX_LINE = 64 * 1024 * 1024
"""A longer line (a huge document) is skipped whole rather than read into memory."""


class Line(msgspec.Struct, kw_only=True):
    """One line from the extension; which fields matter depends on ``kind``."""

    kind: str = "lsp"
    t: float | None = None
    """Seconds since the epoch when the editor saw it (default: when it was read)."""
    dir: str = "c2s"
    lsp: msgspec.Raw = msgspec.Raw()
    id: int | None = None
    cmd: str | None = None
    cwd: str | None = None
    data: str | None = None
    exit_code: int | None = None
    text: str | None = None
    tags: list[str] = msgspec.field(default_factory=list)


_line = msgspec.json.Decoder(Line)


@dataclass
class Execution:
    """A terminal command between its ``terminal_start`` and ``terminal_end``."""

    cmd: str
    start: float
    cwd: str | None
    output: SpillingOutput
    cleaner: TextCleaner = field(default_factory=TextCleaner)


class Bridge:
    def __init__(
        self,
        root: Path,
        *,
        source: str = SOURCE,
        session_id: str | None = None,
        idle_gap: float | None = None,
        write_status: Callable[[dict[str, Any]], None] | None = None,
    ) -> None:
        from prtrace.ids import new_session_id

        self.root = root
        self.session_id = session_id or new_session_id()
        self.emitter = EventEmitter(source=source, session_id=self.session_id)
        self.emitter.attach_workspace(root)  # the spool is opened only once something is kept
        self.recorder = LspRecorder(
            self.emitter, root=root, idle_gap=IDLE_GAP if idle_gap is None else idle_gap
        )
        self.executions: dict[int, Execution] = {}
        self.write_status = write_status
        self.lines = 0
        self.errors = 0

    # --- input ----------------------------------------------------------------

    def feed(self, raw: bytes, now: float | None = None) -> None:
        """Take one line; never raises for what the line says."""
        self.lines += 1
        try:
            line = _line.decode(raw)
            self.handle(line, time.time() if now is None else now)
        except (msgspec.MsgspecError, ValueError, KeyError, IndexError, TypeError) as exc:
            self._error(exc)

    def handle(self, line: Line, now: float) -> None:
        t = now if line.t is None else line.t
        kind = line.kind
        if kind == "lsp":
            if len(line.lsp):
                direction = "s2c" if line.dir == "s2c" else "c2s"
                self.recorder.handle(direction, t, bytes(line.lsp))
        elif kind == "terminal_start" and line.id is not None:
            tag = f".vscode-{os.getpid()}-{line.id}"
            self.executions[line.id] = Execution(
                cmd=line.cmd or "",
                start=t,
                cwd=line.cwd,
                output=SpillingOutput(
                    outputs_dir(self.root) / f"{tag}.output.txt", output_redactor(self.root)
                ),
            )
        elif kind == "terminal_output" and line.id is not None:
            execution = self.executions.get(line.id)
            if execution is not None and line.data:
                execution.output.write(execution.cleaner.feed(line.data.encode("utf-8", "replace")))
        elif kind == "terminal_end" and line.id is not None:
            self._ended(line, t)
        elif kind == "note" and line.text and line.text.strip():
            self.recorder.end_burst()
            self.emitter.emit(ev.Thought, t, raw=line.text.strip(), tags=line.tags)
        elif kind == "status":
            self.report_status()
        # Unknown kinds are skipped: a newer extension may send what this bridge ignores.

    def _ended(self, line: Line, t: float) -> None:
        execution = self.executions.pop(line.id or 0, None)
        if execution is None:
            return
        output = execution.output
        output.write(execution.cleaner.feed(b"", final=True))
        output.close()
        self.recorder.end_burst()  # an edit typed before the command comes before it
        event = emit_command(
            self.emitter,
            self.root,
            CommandRecord(
                cmdline=line.cmd or execution.cmd,
                start=execution.start,
                end=max(t, execution.start),
                exit_code=line.exit_code,
                cwd=line.cwd or execution.cwd,
                stdout=output,
                merged=True,  # a terminal merges stdout and stderr
            ),
        )
        if output.kept is not None:
            os.replace(output.kept, output.kept.with_name(f"{event.id}.output.txt"))

    def tick(self, now: float) -> None:
        self.recorder.tick(now)

    def close(self) -> None:
        now = time.time()
        for ident in list(self.executions):
            # The editor went away mid-command: record what ran, with no exit code.
            self._ended(Line(kind="terminal_end", id=ident), now)
        self.recorder.close()

    def flush(self) -> None:
        self.emitter.flush()

    # --- state ------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        from prtrace.recorder.session.state import load_session

        privacy = Privacy(self.root)
        session = load_session(self.root)
        return {
            "kind": "status",
            "workspace": str(self.root),
            "opted_in": privacy.opted_in(),
            "paused": is_paused(self.root),
            "recording": privacy.recording(),
            "session": None if session is None else session.trace_id,
            "lines": self.lines,
            "errors": self.errors,
        }

    def report_status(self) -> None:
        if self.write_status is not None:
            self.write_status(self.status())

    def _error(self, exc: Exception) -> None:
        self.errors += 1
        if self.errors <= 5:
            sys.stderr.write(f"prtrace editor-bridge: could not record a line: {exc!r}\n")


def _read_lines(stream: IO[bytes], put: Callable[[object], None]) -> None:
    """stdin → the queue, one line at a time; over-long lines are skipped."""
    try:
        while True:
            raw = stream.readline(MAX_LINE)
            if not raw:
                break
            if not raw.endswith(b"\n") and len(raw) >= MAX_LINE:
                while raw and not raw.endswith(b"\n"):  # drop the rest of it
                    raw = stream.readline(MAX_LINE)
                sys.stderr.write("prtrace editor-bridge: skipped a line longer than 64 MiB\n")
                continue
            if raw.strip():
                put((time.time(), raw))
    finally:
        put(None)


def run_bridge(
    root: Path,
    *,
    upload: bool = True,
    idle_gap: float | None = None,
    source: str = SOURCE,
    stdin: IO[bytes] | None = None,
    stdout: IO[str] | None = None,
) -> int:
    """Read lines until stdin closes; see the module docstring."""
    out = sys.stdout if stdout is None else stdout
    write_lock = threading.Lock()

    def write_status(status: dict[str, Any]) -> None:
        with write_lock:
            try:
                out.write(json.dumps(status) + "\n")
                out.flush()
            except (OSError, ValueError):
                pass  # the extension stopped listening; keep recording

    bridge = Bridge(root, source=source, idle_gap=idle_gap, write_status=write_status)
    # Like an LSP worker: a file watcher of this workspace waits for us to record the
    # editor's saves rather than take them for someone else's change.
    register(root, bridge.session_id, os.getpid())
    progress = Progress(bridge.session_id, root)
    uploader = None
    if upload:
        from prtrace.recorder.pipeline.uploader import BackgroundUploader

        uploader = BackgroundUploader(root).start()
    lines: queue.SimpleQueue = queue.SimpleQueue()
    reader = threading.Thread(
        target=_read_lines,
        args=(sys.stdin.buffer if stdin is None else stdin, lines.put),
        name="prtrace-bridge-stdin",
        daemon=True,
    )
    reader.start()
    bridge.report_status()
    try:
        while True:
            try:
                item = lines.get(timeout=QUIET_TICK)
            except queue.Empty:
                _guard(bridge.tick, time.time())
                _guard(bridge.flush)
                _guard(progress.report, bridge.recorder.editing)
                continue
            if item is None:
                break
            read_at, raw = item
            _guard(bridge.feed, raw, read_at)
            if lines.empty():
                _guard(bridge.flush)
                progress.seen = max(progress.seen, read_at)
                _guard(progress.report, bridge.recorder.editing)
        _guard(bridge.close)
        _guard(bridge.flush)
    finally:
        _guard(progress.close)
        if bridge.emitter.spool is not None:
            bridge.emitter.spool.close()
    if uploader is not None:
        uploader.stop()
        _last_round(root)
    return 0
