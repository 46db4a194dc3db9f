"""LSP positions ↔ Python string indices, in the negotiated position encoding.

LSP counts ``character`` in UTF-16 code units unless client and server agreed
on ``utf-8`` or ``utf-32`` in the initialize exchange (``positionEncoding``).
Python strings index code points (= UTF-32), so every position the editor sends
is converted here, and every range the recorder writes is converted back, so
the trace speaks the same units as the editor did.

Lines end with ``\\n``, ``\\r\\n`` or a lone ``\\r`` (the three the LSP spec
allows); :func:`split_lines` keeps the terminators and always yields a last
line without one (possibly empty), so ``len(lines)`` is the LSP line count.
"""

from __future__ import annotations

import re
from typing import Literal

Encoding = Literal["utf-8", "utf-16", "utf-32"]
DEFAULT_ENCODING: Encoding = "utf-16"
TRACE_ENCODING: Encoding = "utf-16"
"""The unit of every ``character`` the trace stores, whatever the editor and server
negotiated: the trace's ``environment.position_encoding`` says UTF-16, so ranges
are converted to it (:func:`to_trace_character`) before they are recorded."""

_LINE_BREAK = re.compile(r"(?<=\n)|(?<=\r)(?!\n)")


def split_lines(text: str) -> list[str]:
    """Lines with their terminators; the last element never has one."""
    if "\r" not in text:
        lines = text.split("\n")
        for i in range(len(lines) - 1):
            lines[i] += "\n"
        return lines
    return _LINE_BREAK.split(text)


def line_content_length(line: str) -> int:
    """Length of ``line`` without its terminator."""
    if line.endswith("\r\n"):
        return len(line) - 2
    if line.endswith(("\n", "\r")):
        return len(line) - 1
    return len(line)


def encoded_length(text: str, encoding: Encoding) -> int:
    """How many units of ``encoding`` ``text`` takes."""
    if encoding == "utf-32" or text.isascii():
        return len(text)
    if encoding == "utf-16":
        return len(text.encode("utf-16-le", "surrogatepass")) // 2
    return len(text.encode("utf-8", "surrogatepass"))


def char_index(line: str, character: int, encoding: Encoding) -> int:
    """The string index of LSP ``character`` in ``line``, clamped to the line's end.

    A ``character`` past the end means the end (the spec's rule), and one that
    falls inside a surrogate pair or a multi-byte sequence rounds down.
    """
    limit = line_content_length(line)
    if character <= 0:
        return 0
    if encoding == "utf-32" or line.isascii():
        return min(character, limit)
    content = line[:limit]
    if encoding == "utf-16":
        data = content.encode("utf-16-le", "surrogatepass")[: 2 * character]
        return len(data.decode("utf-16-le", "ignore"))
    data = content.encode("utf-8", "surrogatepass")[:character]
    return len(data.decode("utf-8", "ignore"))


def index_to_position(text: str, index: int, encoding: Encoding) -> tuple[int, int]:
    """(line, character) of string index ``index`` in ``text``."""
    head = text[:index]
    if "\r" in head:
        lines = split_lines(head)
        line = len(lines) - 1
        start = index - len(lines[-1])
    else:
        line = head.count("\n")
        start = head.rfind("\n") + 1
    return line, encoded_length(text[start:index], encoding)


def negotiated(value: object) -> Encoding:
    """The encoding a server announced, defaulting to UTF-16 for anything unknown."""
    if value in ("utf-8", "utf-16", "utf-32"):
        return value
    return DEFAULT_ENCODING


def to_trace_character(line: str | None, character: int, encoding: Encoding) -> int:
    """``character`` (in ``encoding``, on ``line``) in :data:`TRACE_ENCODING` units.

    Without the line's text (a file we never saw) the value is kept as it is —
    exact for ASCII lines, which are most.
    """
    if encoding == TRACE_ENCODING or line is None or character <= 0 or line.isascii():
        return max(character, 0)
    return encoded_length(line[: char_index(line, character, encoding)], TRACE_ENCODING)
