"""One terminal command as an event, from whichever recorder saw it.

``prtrace shell`` (PTY, merged output), ``prtrace run`` (stdout and stderr
apart) and the shell hook (no output) all end here: :func:`emit_command` builds
the ``terminal_command`` event and the git events a command implies
(``git push`` → ``push_remote``; ``gh pr create`` → ``pr_opened`` with the URL
it printed). Commits and branch switches come from git itself
(:mod:`prtrace.recorder.files.gitwatch`), whatever made them.

Output is kept whole while it is small. Past :data:`OUTPUT_CAP` the event
keeps the first and last halves with a marker between them, ``truncated``
and the full size in ``output_bytes``; the whole text is kept in
``.prtrace/outputs/<event id>.<stream>.txt`` on the developer's machine
(redacted like everything else; useful to look back at a long test run; never uploaded).
"""

from __future__ import annotations

import os
import re
import shlex
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from prtrace import events as ev
from prtrace.recorder.pipeline.emitter import EventEmitter
from prtrace.recorder.session.workspace import state_dir

OUTPUT_CAP = 1024 * 1024
"""Characters of output kept in the event (the backend moves big fields to its blob store)."""
_PR_URL = re.compile(r"https?://\S+/pull/(\d+)\b")


class OutputBuffer:
    """The text of one stream: whole up to the cap, else its head and its tail."""

    def __init__(self, cap: int = OUTPUT_CAP) -> None:
        self.cap = cap
        self.half = cap // 2
        self.size = 0
        """Characters written."""
        self.bytes = 0
        """UTF-8 bytes written (``output_bytes``)."""
        self.head: list[str] = []
        self.head_len = 0
        self.tail: deque[str] = deque()
        self.tail_len = 0

    def write(self, text: str) -> None:
        if not text:
            return
        self.size += len(text)
        self.bytes += len(text.encode("utf-8", "surrogatepass"))
        if self.head_len < self.half:
            take = text[: self.half - self.head_len]
            self.head.append(take)
            self.head_len += len(take)
            text = text[len(take) :]
            if not text:
                return
        self.tail.append(text)
        self.tail_len += len(text)
        while self.tail and self.tail_len - len(self.tail[0]) >= self.half:
            self.tail_len -= len(self.tail.popleft())

    @property
    def truncated(self) -> bool:
        return self.size > self.cap

    def text(self) -> str:
        head = "".join(self.head)
        tail = "".join(self.tail)
        if not self.truncated:
            return head + tail
        tail = tail[-self.half :]
        omitted = self.size - len(head) - len(tail)
        return f"{head}\n[… prtrace: {omitted} characters omitted …]\n{tail}"

    def close(self) -> None:
        pass


class SpillingOutput(OutputBuffer):
    """An :class:`OutputBuffer` that also keeps the whole text in ``path`` once truncated.

    The file gets the text *redacted*, like everything else a recorder writes
    (docs/privacy.md): complete lines are redacted in chunks, and an open
    private-key block is held back until its end line arrives, so a secret is
    never split across two redactions. ``redact`` is None where nothing may be
    recorded (paused, not opted in): then nothing is written at all.
    """

    CHUNK = 64 * 1024
    HOLD_MAX = 4 * 1024 * 1024

    def __init__(
        self, path: Path, redact: Callable[[str], str] | None, cap: int = OUTPUT_CAP
    ) -> None:
        super().__init__(cap)
        self.path = path
        self.redact = redact
        self.kept: Path | None = None
        self._pending: list[str] = []
        self._pending_len = 0
        self._fh: TextIO | None = None

    def write(self, text: str) -> None:
        super().write(text)
        if self.redact is None or not text:
            return
        self._pending.append(text)
        self._pending_len += len(text)
        if self._fh is None and self.truncated:
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            # Kept open across write() calls; _flush(final=True) closes it.
            self._fh = open(self.path, "w", encoding="utf-8", errors="surrogatepass")  # noqa: SIM115
            self.kept = self.path
        if self._fh is not None and self._pending_len >= self.CHUNK:
            self._flush(final=False)

    def _flush(self, *, final: bool) -> None:
        assert self._fh is not None and self.redact is not None
        text = "".join(self._pending)
        cut = len(text) if final else text.rfind("\n") + 1
        if not final:
            begin = text.rfind("-----BEGIN", 0, cut)
            if begin >= 0 and "-----END" not in text[begin:cut] and len(text) < self.HOLD_MAX:
                cut = text.rfind("\n", 0, begin) + 1  # hold the open key block back
        ready, rest = text[:cut], text[cut:]
        self._pending = [rest] if rest else []
        self._pending_len = len(rest)
        if ready:
            self._fh.write(self.redact(ready))

    def close(self) -> None:
        if self._fh is not None:
            self._flush(final=True)
            self._fh.close()
            self._fh = None
        self._pending = []
        self._pending_len = 0


def split_args(cmdline: str) -> list[str]:
    """Words as the shell splits them, with ``;``, ``|``, ``&&``… as words of their own."""
    lexer = shlex.shlex(cmdline, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    lexer.commenters = ""
    try:
        return list(lexer)
    except ValueError:  # an unclosed quote in a multi-line command: best effort
        return cmdline.split()


def display_cwd(root: Path, cwd: str | None) -> str | None:
    """Workspace-relative POSIX (``.`` for the root), absolute outside the workspace."""
    if cwd is None:
        return None
    try:
        rel = Path(cwd).resolve().relative_to(root.resolve())
    except (ValueError, OSError):
        return cwd
    return rel.as_posix() or "."


def output_redactor(root: Path) -> Callable[[str], str] | None:
    """How whole outputs kept under ``root`` are redacted: the workspace's own rules,
    or None while nothing may be recorded there (paused, not opted in)."""
    from prtrace.recorder.pipeline.privacy import Privacy

    privacy = Privacy.for_workspace(root)
    return privacy.redactor.text if privacy.recording() else None


def outputs_dir(root: Path) -> Path:
    """Where whole outputs are kept; created only when one is (see :class:`SpillingOutput`)."""
    return state_dir(root) / "outputs"


@dataclass
class CommandRecord:
    cmdline: str
    start: float
    end: float
    exit_code: int | None
    cwd: str | None = None
    stdout: OutputBuffer | None = None
    stderr: OutputBuffer | None = None
    merged: bool = False
    args: list[str] | None = None


def emit_command(
    emitter: EventEmitter, root: Path, record: CommandRecord, *, event_id: str | None = None
) -> ev._Event:
    """The ``terminal_command`` event (with ``event_id`` if one was reserved), then any git
    events the command implies."""
    args = record.args if record.args is not None else split_args(record.cmdline)
    outs = [b for b in (record.stdout, record.stderr) if b is not None]
    fields: dict[str, object] = {}
    if record.stdout is not None:
        fields["stdout"] = record.stdout.text()
    if record.stderr is not None:
        fields["stderr"] = record.stderr.text()
    if outs:
        fields["truncated"] = any(b.truncated for b in outs)
        fields["output_bytes"] = sum(b.bytes for b in outs)
    event = emitter.emit(
        ev.TerminalCommand,
        record.start,
        event_id=event_id,
        cmd=record.cmdline,
        args=args,
        cwd=display_cwd(root, record.cwd),
        exit_code=record.exit_code,
        duration_ms=round(max(record.end - record.start, 0.0) * 1000, 3),
        output_merged=record.merged,
        **fields,
    )
    output = (record.stdout.text() if record.stdout else "") + (
        record.stderr.text() if record.stderr else ""
    )
    _git_events(emitter, record, args, output)
    return event


def _git_events(emitter: EventEmitter, record: CommandRecord, args: list[str], output: str) -> None:
    words = [a for a in args if "=" not in a or a.startswith("-")]  # drop VAR=value prefixes
    if len(words) >= 2 and os.path.basename(words[0]) == "git" and "push" in words[1:3]:
        rest = [a for a in words[words.index("push") + 1 :] if not a.startswith("-")]
        emitter.emit(
            ev.PushRemote,
            record.end,
            remote=rest[0] if rest else None,
            branch=rest[1] if len(rest) > 1 else None,
            exit_code=record.exit_code,
        )
    if (
        len(words) >= 3
        and os.path.basename(words[0]) == "gh"
        and words[1] == "pr"
        and words[2] == "create"
        and record.exit_code == 0
    ):
        match = _PR_URL.search(output)
        title = None
        for flag in ("--title", "-t"):
            if flag in words[:-1]:
                title = words[words.index(flag) + 1]
        base = words[words.index("--base") + 1] if "--base" in words[:-1] else None
        emitter.emit(
            ev.PrOpened,
            record.end,
            url=match.group(0) if match else None,
            number=int(match.group(1)) if match else None,
            title=title,
            base=base,
        )
