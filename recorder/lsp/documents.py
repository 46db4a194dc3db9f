"""The text of each open document, kept by replaying the editor's ``didChange``.

The server never tells us what a document looks like, so the recorder keeps its
own copy: ``didOpen`` gives the text, each ``didChange`` either replaces it
(full sync) or splices ranges into it (incremental sync), in order, exactly as
the server must. The copy is a list of lines so that a keystroke costs a splice
of one line, not a rebuild of the whole file; the text is joined only when an
edit burst ends.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from prtrace.recorder.lsp.positions import Encoding, char_index, split_lines


@dataclass(slots=True)
class Document:
    uri: str
    path: str
    language: str | None
    version: int | None
    lines: list[str] = field(default_factory=lambda: [""])
    _text: str | None = None

    @classmethod
    def opened(cls, uri: str, path: str, language: str | None, version: int | None, text: str):
        return cls(uri, path, language, version, split_lines(text), text)

    @property
    def text(self) -> str:
        if self._text is None:
            self._text = "".join(self.lines)
        return self._text

    def replace_all(self, text: str) -> None:
        self.lines = split_lines(text)
        self._text = text

    def apply(
        self,
        start: tuple[int, int],
        end: tuple[int, int],
        text: str,
        encoding: Encoding,
    ) -> None:
        """Replace the LSP range ``start``–``end`` with ``text``.

        Positions past the last line mean the end of the document; ``end``
        before ``start`` is treated as an empty range at ``start``, as servers
        tolerate it rather than crash.
        """
        lines = self.lines
        last = len(lines) - 1
        (sl, sc), (el, ec) = start, end
        if sl > last:
            sl, sc = last, 1 << 62
        if el > last:
            el, ec = last, 1 << 62
        if sl == el and "\n" not in text and "\r" not in text:
            # The common keystroke: within one line, no line break typed. The line
            # keeps its terminator, so nothing needs re-splitting.
            line = lines[sl]
            s_idx = char_index(line, sc, encoding)
            e_idx = max(char_index(line, ec, encoding), s_idx)
            lines[sl] = line[:s_idx] + text + line[e_idx:]
            self._text = None
            return
        s_idx = char_index(lines[sl], sc, encoding)
        e_idx = char_index(lines[el], ec, encoding)
        el, e_idx = max((el, e_idx), (sl, s_idx))
        lo, hi = sl, el + 1
        prefix = lines[sl][:s_idx]
        suffix = lines[el][e_idx:]
        # A lone "\r" ending the previous line may pair with a "\n" we insert, and a
        # "\r" we insert may pair with a "\n" that starts the next line: re-split both.
        if lo > 0 and lines[lo - 1].endswith("\r") and not lines[lo - 1].endswith("\r\n"):
            lo -= 1
            prefix = lines[lo] + prefix
        joined = prefix + text + suffix
        if joined.endswith("\r") and hi <= last and lines[hi].startswith("\n"):
            joined += lines[hi]
            hi += 1
        new = split_lines(joined)
        if hi <= last:
            # Not at the end of the document: ``joined`` ends with a line break, and
            # the empty tail split_lines adds is really the start of lines[hi].
            new.pop()
        lines[lo:hi] = new
        self._text = None
