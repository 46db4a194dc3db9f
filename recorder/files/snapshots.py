"""What a file holds, as the watcher remembers it: hash, size, and text when small.

The watcher keeps one :class:`Snapshot` per file (its *baseline*) so that when a
file changes it can write a unified diff from the text it had to the text it
has. Only text files under :data:`MAX_TEXT_BYTES` keep their text; binary files
(a NUL byte, or not UTF-8) and huge ones are remembered — and recorded — by
hash and size only. Hashes are the trace's (:mod:`prtrace.hashing`): for a text
file, the sha256 of its UTF-8 bytes equals ``text_hash`` of its text.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from prtrace.hashing import bytes_hash

MAX_TEXT_BYTES = 512 * 1024
"""Files larger than this are recorded by hash and size, without a diff."""
MAX_HASH_BYTES = 256 * 1024 * 1024
"""Files larger than this are not even hashed (size only)."""


@dataclass(frozen=True, slots=True)
class Snapshot:
    hash: str | None
    size: int
    text: str | None = None
    """The content, for text files up to :data:`MAX_TEXT_BYTES`."""
    binary: bool = False


def read_snapshot(path: str | os.PathLike[str]) -> Snapshot | None:
    """The file's snapshot now; None if it is gone or not a regular file."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    if not os.path.isfile(path):
        return None
    if st.st_size > MAX_HASH_BYTES:
        return Snapshot(None, st.st_size, binary=True)
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        return None
    digest = bytes_hash(data)
    if b"\0" in data[:8192]:
        return Snapshot(digest, len(data), binary=True)
    if len(data) > MAX_TEXT_BYTES:
        return Snapshot(digest, len(data), binary=not _is_utf8(data[:65536]))
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return Snapshot(digest, len(data), binary=True)
    return Snapshot(digest, len(data), text)


def _is_utf8(head: bytes) -> bool:
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start > len(head) - 4  # a character cut at the end of the sample
    return True
