"""Terminal output as text: escape sequences out, full-screen programs summarised.

A command's output in a PTY is full of control sequences — colours (SGR),
cursor moves, title changes (OSC), bracketed paste, keypad modes. The trace
wants the text a person read. :class:`TextCleaner` strips them incrementally
(a sequence may be cut between two reads), drops what a program drew on the
*alternate screen* (vim, less, htop: a screenful of repaints is no output) in
favour of one marker line, turns ``\\r\\n`` into ``\\n`` and keeps only what
is left after the last carriage return of a line (progress bars).
"""

from __future__ import annotations

import codecs
import re

# CSI (ESC [ … final), OSC (ESC ] … BEL or ST), DCS/SOS/PM/APC (ESC P|X|^|_ … ST),
# two-byte escapes (ESC + one char, ESC + intermediate + final), lone C1 CSI.
_ESCAPE = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)"
    r"|\x1b[PX^_][^\x1b]*\x1b\\"
    r"|\x1b[ -/]*[0-OQ-WYZ\\`a-~]"
    r"|\x9b[0-?]*[ -/]*[@-~]"
)
_ALT_SCREEN = re.compile(r"\x1b\[\?(?:1049|1047|47)([hl])")
_ZSH_PROMPT_SP = re.compile(
    r"(?:\x1b\[[0-9;]*m)*\x1b\[7m[^\x1b\n]{0,8}\x1b\[27m(?:\x1b\[[0-9;]*m)* +\r \r"
)
"""zsh's PROMPT_SP: after output without a final newline, a reverse-video ``%``/``#``,
spaces to the margin, ``\r \r`` — the prompt's doing, not the command's output."""
_ZSH_PROMPT_SP_START = re.compile(
    r"\x1b\[7m(?:[^\x1b\n]{0,8}(?:\x1b(?:\[(?:2(?:7m?)?)?)?)?)?$"
    r"|\x1b\[7m[^\x1b\n]{0,8}\x1b\[27m(?:\x1b\[[0-9;]*m?)*(?: *(?:\r ?)?)?$"
)
"""The start of a PROMPT_SP cut off at the end of a read: held back until the rest comes,
or the line it follows is lost with it (``xxx%   \r \r`` resolves to a blank line)."""
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_PARTIAL_MAX = 4096
FULL_SCREEN_MARKER = "[full-screen program output not recorded]\n"


def strip_escapes(text: str) -> str:
    """Text without escape sequences and stray control characters (tabs and newlines stay)."""
    return _CONTROL.sub("", _ESCAPE.sub("", text))


def _split_partial(text: str) -> tuple[str, str]:
    """(complete part, unfinished escape sequence at the end to keep for later)."""
    esc = text.rfind("\x1b")
    if esc < 0 or len(text) - esc > _PARTIAL_MAX:
        return text, ""
    tail = text[esc:]
    if _ESCAPE.match(tail) is not None:
        return text, ""  # complete (maybe followed by text)
    return text[:esc], tail


def _hold_prompt_sp(text: str) -> tuple[str, str]:
    """(text to clean now, the start of a zsh PROMPT_SP at its end to keep for later)."""
    start = text.rfind("\x1b[7m")
    if start < 0 or len(text) - start > _PARTIAL_MAX:
        return text, ""
    if _ZSH_PROMPT_SP_START.match(text, start) is None:
        return text, ""
    return text[:start], text[start:]


def _resolve_carriage_returns(line: str) -> str:
    if "\r" not in line:
        return line
    parts = [p for p in line.split("\r") if p]
    return parts[-1] if parts else ""


class TextCleaner:
    """Feed raw bytes of one command's output; get clean text back."""

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self._partial = ""
        self._alt = False
        self._alt_seen = False
        self._line = ""

    def feed(self, data: bytes, final: bool = False) -> str:
        text = self._partial + self._decoder.decode(data, final)
        if final:
            self._partial = ""
        else:
            text, self._partial = _split_partial(text)
            text, held = _hold_prompt_sp(text)
            self._partial = held + self._partial
        if "\r \r" in text:
            text = _ZSH_PROMPT_SP.sub("", text)
        out: list[str] = []
        pos = 0
        for match in _ALT_SCREEN.finditer(text):
            if not self._alt:
                out.append(text[pos : match.start()])
            entering = match.group(1) == "h"
            if entering and not self._alt_seen:
                out.append("\n" + FULL_SCREEN_MARKER)
                self._alt_seen = True
            self._alt = entering
            pos = match.end()
        if not self._alt:
            out.append(text[pos:])
        cleaned = strip_escapes("".join(out)).replace("\r\n", "\n")
        return self._lines(cleaned, final)

    def _lines(self, text: str, final: bool) -> str:
        """Resolve carriage returns line by line (a line may span feeds)."""
        text = self._line + text
        head, sep, rest = text.rpartition("\n")
        if final:
            self._line = ""
            if not _resolve_carriage_returns(rest).strip():
                text = head + sep  # a prompt's padding (zsh PROMPT_SP), not output
            done = text
        else:
            self._line = rest
            done = head + sep
        if "\r" not in done:
            return done
        return "\n".join(_resolve_carriage_returns(line) for line in done.split("\n"))
