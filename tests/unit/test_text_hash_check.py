"""``is_text_hash``: what the server accepts as a native edit hash (and replay verifies)."""

from __future__ import annotations

from prtrace.hashing import is_text_hash, text_hash


def test_only_lowercase_hex_sha256_is_a_text_hash() -> None:
    good = text_hash("x")
    assert is_text_hash(good)
    for bad in (good.upper(), good + "\n", good[:-1], good[:-1] + "g", "é" * 64, None, 64):
        assert not is_text_hash(bad), bad


def test_a_batch_with_a_bad_edit_hash_is_refused_naming_it() -> None:
    """The server checks both hashes of an edit in one match: every wrong one is still
    found, and named, whichever of the two it is and however the two line up."""
    import json

    import pytest

    from prtrace.backend.ingest import decode_batch
    from prtrace.errors import FormatError

    good = text_hash("x")

    def batch(before: str, after: str) -> bytes:
        edit = {
            "type": "edit",
            "id": "e1",
            "t": "2024-05-01T10:00:00Z",
            "session_id": "s",
            "path": "a.py",
            "op": "replace",
            "patch_unified": "",
            "before_hash": before,
            "after_hash": after,
        }
        return json.dumps({"seq": 0, "events": [edit]}).encode()

    assert decode_batch(batch(good, text_hash("y"))).ids == ["e1"]
    bad_ones = [good.upper(), good[:-1], good + "0", good[:-1] + "g", good[:32] + " " + good[:31]]
    for bad in bad_ones:
        for field, body in (("before_hash", batch(bad, good)), ("after_hash", batch(good, bad))):
            with pytest.raises(FormatError) as caught:
                decode_batch(body)
            assert caught.value.field == f"events[0].{field}", (bad, field)
    with pytest.raises(FormatError) as caught:  # the two lengths off by one each way
        decode_batch(batch(good[:-1], good + "0"))
    assert caught.value.field == "events[0].before_hash"
