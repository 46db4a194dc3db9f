"""``is_text_hash``: what the server accepts as a native edit hash (and replay verifies)."""

from __future__ import annotations

from prtrace.hashing import is_text_hash, text_hash


def test_only_lowercase_hex_sha256_is_a_text_hash() -> None:
    good = text_hash("x")
    assert is_text_hash(good)
    for bad in (good.upper(), good + "\n", good[:-1], good[:-1] + "g", "é" * 64, None, 64):
        assert not is_text_hash(bad), bad
