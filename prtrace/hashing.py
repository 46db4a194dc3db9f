"""Content hashes shared by the recorder, QA and replay.

Every ``before_hash``/``after_hash`` in a trace is the lowercase hex sha256 of
the whole document text encoded as UTF-8. Keeping the one definition here is
what lets replay verify what the recorder wrote.
"""

from __future__ import annotations

import hashlib
import re

_TEXT_HASH = re.compile(r"[0-9a-f]{64}")


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def bytes_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def is_text_hash(value: object) -> bool:
    """Is ``value`` a hash :func:`text_hash` could have made (lowercase hex sha256)?

    Other clients (the seed's) send hashes of their own kind; those are kept as
    given, and replay reports the changes they describe as unverifiable.
    """
    # One C-speed match, not a Python loop over 64 characters: the server checks
    # two of these per uploaded edit, and the loop was 45 % of decoding a batch.
    return isinstance(value, str) and _TEXT_HASH.fullmatch(value) is not None
