"""Splitting an LSP byte stream into message bodies.

The proxy forwards raw bytes and never frames them on the forwarding path; this
framer runs on the recording side, over a *copy* of the stream, and has to cope
with whatever chunking the pipes produced: half a header, many messages in one
read, a multi-megabyte body spread over hundreds of reads.

The base protocol is ``Header: value\\r\\n`` lines, an empty line, then exactly
``Content-Length`` bytes of body. ``Content-Type`` (and any other header) is
accepted and ignored: the only encoding LSP defines is UTF-8.
"""

from __future__ import annotations

_SEPARATOR = b"\r\n\r\n"
_MAX_HEADER = 64 * 1024
"""A header block longer than this is garbage, not LSP: resynchronise."""


class FramingError(ValueError):
    """The stream is not LSP base protocol (a missing or bad Content-Length)."""


class MessageFramer:
    """Feed chunks with :meth:`feed`; get back the complete bodies they finish."""

    __slots__ = ("_buf", "_need", "errors")

    def __init__(self) -> None:
        self._buf = bytearray()
        self._need: int | None = None  # body length once the header has been read
        self.errors = 0
        """Header blocks that could not be understood and were skipped."""

    def feed(self, chunk: bytes) -> list[bytes]:
        buf = self._buf
        buf += chunk
        out: list[bytes] = []
        pos = 0
        end = len(buf)
        while True:
            if self._need is None:
                sep = buf.find(_SEPARATOR, pos)
                if sep < 0:
                    if end - pos > _MAX_HEADER:
                        # No header terminator in a long run of bytes: drop it.
                        self.errors += 1
                        pos = end
                    break
                try:
                    self._need = _content_length(bytes(buf[pos:sep]))
                except FramingError:
                    self.errors += 1
                    pos = sep + len(_SEPARATOR)
                    continue
                pos = sep + len(_SEPARATOR)
            if end - pos < self._need:
                break
            out.append(bytes(buf[pos : pos + self._need]))
            pos += self._need
            self._need = None
        if pos:
            del buf[:pos]
        return out

    @property
    def pending(self) -> int:
        """Bytes held back waiting for the rest of a message."""
        return len(self._buf)


def _content_length(header: bytes) -> int:
    for line in header.split(b"\r\n"):
        name, sep, value = line.partition(b":")
        if sep and name.strip().lower() == b"content-length":
            try:
                length = int(value.strip())
            except ValueError:
                raise FramingError(f"bad Content-Length {value!r}") from None
            if length < 0:
                raise FramingError(f"negative Content-Length {length}")
            return length
    raise FramingError("no Content-Length header")


def frame(body: bytes) -> bytes:
    """One message in base-protocol framing (used by tests and benchmarks)."""
    return b"Content-Length: %d\r\n\r\n" % len(body) + body
