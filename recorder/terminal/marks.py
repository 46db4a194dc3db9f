"""Cutting a PTY's output into commands, by the shell's OSC 133 marks.

:class:`MarkParser` splits the raw byte stream into text and marks
(``ESC ] 133 ; … BEL`` or ``… ESC \\``), across reads that cut a mark anywhere.
:class:`ShellRecorder` follows the marks (see
:mod:`prtrace.recorder.terminal.shell_integration`): output between a command's ``C`` and its
``D`` is that command's, cleaned by :class:`prtrace.recorder.terminal.ansi.TextCleaner`, and
``D`` makes the ``terminal_command`` event (:func:`prtrace.recorder.terminal.commands.emit_command`).
What is drawn between ``D`` and the next ``C`` — prompt, typed line, completion
menus — is not output and is dropped.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

from prtrace.recorder.pipeline.emitter import EventEmitter
from prtrace.recorder.terminal.ansi import TextCleaner
from prtrace.recorder.terminal.commands import (
    CommandRecord,
    SpillingOutput,
    emit_command,
    output_redactor,
    outputs_dir,
)

MARK = b"\x1b]133;"
MAX_MARK = 64 * 1024
"""A mark longer than this is not ours (a command line is never that long): text."""


def _partial_prefix(buf: bytes, token: bytes) -> int:
    """Length of the longest suffix of ``buf`` that is a proper prefix of ``token``."""
    for n in range(min(len(token) - 1, len(buf)), 0, -1):
        if buf.endswith(token[:n]):
            return n
    return 0


class MarkParser:
    def __init__(self) -> None:
        self._pending = b""

    def feed(self, data: bytes) -> Iterator[tuple[str, bytes]]:
        """Yields ``("text", bytes)`` and ``("mark", body)`` in stream order."""
        buf = self._pending + data if self._pending else data
        self._pending = b""
        pos = 0
        while True:
            i = buf.find(MARK, pos)
            if i < 0:
                keep = _partial_prefix(buf[pos:], MARK)
                end = len(buf) - keep
                if end > pos:
                    yield "text", buf[pos:end]
                self._pending = buf[end:]
                return
            if i > pos:
                yield "text", buf[pos:i]
            start = i + len(MARK)
            bel = buf.find(b"\x07", start)
            st = buf.find(b"\x1b\\", start)
            ends = [(e, n) for e, n in ((bel, 1), (st, 2)) if e >= 0]
            if not ends:
                if len(buf) - i > MAX_MARK:
                    yield "text", buf[i:start]
                    pos = start
                    continue
                self._pending = buf[i:]
                return
            end, size = min(ends)
            yield "mark", buf[start:end]
            pos = end + size

    def flush(self) -> bytes:
        rest, self._pending = self._pending, b""
        return rest


@dataclass
class _Running:
    cmdline: str
    cwd: str | None
    start: float
    cleaner: TextCleaner
    output: SpillingOutput
    named: bool  # its C said what it is (zsh, fish); else an E after its D will (bash)


class ShellRecorder:
    """Marks and output of one shell → ``terminal_command`` events."""

    def __init__(self, root: Path, emitter: EventEmitter) -> None:
        self.root = root
        self.emitter = emitter
        self.parser = MarkParser()
        self.current: _Running | None = None
        self.unnamed: tuple[_Running, float, int | None] | None = None
        self.commands = 0

    def feed(self, t: float, data: bytes) -> None:
        for kind, part in self.parser.feed(data):
            if kind == "text":
                if self.current is not None:
                    self.current.output.write(self.current.cleaner.feed(part))
            else:
                self._mark(t, part)

    def _mark(self, t: float, body: bytes) -> None:
        fields = body.decode("utf-8", "replace").split(";")
        code = fields[0]
        if code == "E":
            # bash names its command right after its D (recorder/terminal/bash_hooks.py)
            held, self.unnamed = self.unnamed, None
            if held is not None:
                running = held[0]
                running.cmdline = unquote(fields[1]) if len(fields) > 1 else ""
                running.cwd = unquote(fields[2]) if len(fields) > 2 and fields[2] else None
                self._emit(*held)
            return
        self._emit_unnamed()
        if code == "C":
            self._finish(t, None)  # a C without D: the shell lost track; close it
            cmdline = unquote(fields[1]) if len(fields) > 1 else ""
            cwd = unquote(fields[2]) if len(fields) > 2 and fields[2] else None
            self.commands += 1
            name = f".running-{self.emitter.session_id}-{self.commands}.txt"
            spill = outputs_dir(self.root) / name
            output = SpillingOutput(spill, output_redactor(self.root))
            self.current = _Running(cmdline, cwd, t, TextCleaner(), output, len(fields) > 1)
        elif code == "D":
            exit_code: int | None
            try:
                exit_code = int(fields[1]) if len(fields) > 1 else None
            except ValueError:
                exit_code = None
            self._finish(t, exit_code)
        elif code == "A":
            self._finish(t, None)

    def _finish(self, t: float, exit_code: int | None) -> None:
        running, self.current = self.current, None
        if running is None:
            return
        running.output.write(running.cleaner.feed(b"", final=True))
        running.output.close()
        if running.named:
            self._emit(running, t, exit_code)
        else:  # its name follows in an E mark
            self.unnamed = (running, t, exit_code)

    def _emit_unnamed(self) -> None:
        held, self.unnamed = self.unnamed, None
        if held is not None:
            self._emit(*held)

    def _emit(self, running: _Running, t: float, exit_code: int | None) -> None:
        if not running.cmdline.strip():
            if running.output.kept is not None:
                running.output.kept.unlink(missing_ok=True)
            return
        event = emit_command(
            self.emitter,
            self.root,
            CommandRecord(
                cmdline=running.cmdline.strip(),  # as every recorder gives it
                start=running.start,
                end=t,
                exit_code=exit_code,
                cwd=running.cwd,
                stdout=running.output,
                merged=True,
            ),
        )
        kept = running.output.kept
        if kept is not None:
            os.replace(kept, kept.with_name(f"{event.id}.txt"))

    def close(self, t: float) -> None:
        """The shell is gone: a command still running ends without an exit code."""
        self._finish(t, None)
        self._emit_unnamed()
