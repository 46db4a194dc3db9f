"""The server's one-pass pre-check over a whole batch, and the tightened anchors.

``redact_events_json`` scans a batch once and looks closer only at the events that
had a hit; it must give exactly what ``redact_event_json`` gives event by event, for
every planted secret of the privacy corpus among clean events. The anchors must not
fire on what terminals and diffs print all day (``Author:`` of git log, ``session_id``,
``sha256:`` lines, every URL): each of those used to send an event to the slow path.
"""

from __future__ import annotations

import json

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from prtrace.redaction import default_redactor, redact_event_json, redact_events_json
from prtrace.redaction.events import suspicious_events, suspicious_json
from prtrace.redaction.leftmost import can_be_overlapped
from tests.support.privacy_corpus import planted_lines


def _event(n: int, text: str) -> bytes:
    return msgspec.json.encode(
        {
            "id": f"ses_b-{n:06d}",
            "t": "2026-01-01T00:00:00Z",
            "session_id": "ses_b",
            "type": "thought",
            "raw": text,
            "tags": ["note"],
        }
    )


CLEAN = [
    "commit 5112ef12fb8ec5a1dd521b6c3b00\nAuthor: Seed maintainers <m@example.org>\n",
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855  uv.lock\n",
    "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "see https://docs.python.org/3/library/re.html#re.Pattern.match for details",
    "Downloading https://files.pythonhosted.org/packages/ab/cd/pkg-1.0.tar.gz",
    "global_settings = load(); slice_of = cls.clone()  # ACCESS granted",
    "=" * 2048,
    "the session id changes on every login; the client retries",
]


def test_clean_lines_of_real_tools_pass_the_pre_check() -> None:
    redactor = default_redactor()
    for n, text in enumerate(CLEAN):
        assert not suspicious_json(_event(n, text), redactor), text
    assert suspicious_events([_event(n, t) for n, t in enumerate(CLEAN)], redactor) == []


@pytest.mark.parametrize("where", [0, 7, 499])
def test_a_batch_gives_what_each_event_gives(where: int) -> None:
    redactor = default_redactor()
    lines = planted_lines()
    clean = [_event(n, CLEAN[n % len(CLEAN)]) for n in range(500)]
    for k, line in enumerate(lines):
        raws = list(clean)
        raws[where] = _event(where, line)
        got = redact_events_json(raws, redactor)
        assert got[where] is not None, line
        assert got[where] == redact_event_json(raws[where], redactor)
        assert sum(g is not None for g in got) == 1, k


def test_a_batch_is_scanned_once() -> None:
    """Counted: the batch's bytes pass through the automata once, not once per event
    plus a call each (the few hits of literals another can start inside are read again
    in windows of a literal's length: a few dozen bytes each)."""
    redactor = default_redactor()
    raws = [_event(n, CLEAN[n % len(CLEAN)]) for n in range(200)]
    redactor.ops.__init__()  # type: ignore[misc]
    redact_events_json(raws, redactor)
    joined = sum(map(len, raws)) + len(raws) - 1
    assert 5 * joined <= redactor.ops.scanned <= 5 * joined + joined // 20


def test_an_escaped_slash_hides_no_url_password() -> None:
    raw = json.dumps({"raw": "postgres://u:hunter2secret@db/x"}).replace("/", "\\/").encode()
    event = _event(0, "x")[:-1] + b"," + raw[1:]
    assert suspicious_events([_event(1, "ok"), event], default_redactor()) == [1]


_RAW_PIECES = [
    "A",
    "C",
    "K",
    "S",
    "=",
    "AC",
    "ACCA",
    "AKIA",
    "SK",
    "A3T",
    "eyJ",
    "SG.",
    "AccountKey=",
    "-----BEGIN ",
    "\\u00",
    "\\",
    "/",
    "x",
    " ",
]


def _hits_agree(data: bytes, view: str = "raw") -> None:
    plan = default_redactor()._plan
    automaton = plan.automata[view]
    expected = sorted(automaton.find_matches_as_indexes(data, overlapping=True))
    assert sorted(plan.leftmost[view].matches(data)[0]) == expected


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(st.sampled_from(_RAW_PIECES), min_size=1, max_size=5), max_size=20))
def test_the_raw_views_few_hits_are_every_hit_an_overlapping_pass_finds(
    groups: list[list[str]],
) -> None:
    """The leftmost search and its windows (``LeftmostScan``) report exactly the
    overlapping pass's hits, also those that start inside another (``AKIA=``), when
    they are few among long clean runs."""
    _hits_agree(("x" * 8192).join("".join(group) for group in groups).encode())


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from(_RAW_PIECES), max_size=400))
def test_the_raw_views_many_hits_are_every_hit_an_overlapping_pass_finds(
    pieces: list[str],
) -> None:
    """…and when they are many (one overlapping pass then)."""
    _hits_agree("".join(pieces).encode())


_CLASS_PIECES = ["q", ":", ".", "a", " ", "aaaaaa", "a" * 20, "a" * 35, ".aaaaaa.", ".aaaaaa"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(st.sampled_from(_CLASS_PIECES), min_size=1, max_size=6), max_size=20))
def test_the_class_views_hits_are_every_hit_an_overlapping_pass_finds(
    groups: list[list[str]],
) -> None:
    """The class view (``.aaaaaa.`` can start inside itself; ``q`` + 20 ``a`` cannot be
    overlapped by anything), sparse and back to back."""
    _hits_agree(("  " * 4096).join("".join(group) for group in groups).encode(), "cls")
    _hits_agree("".join(piece for group in groups for piece in group).encode(), "cls")


def test_which_literals_another_can_start_inside() -> None:
    assert can_be_overlapped([b"AC", b"ACCA", b"SK", b"A="]) == [True, True, False, False]
    assert can_be_overlapped([b".aaaaaa.", b"q" + b"a" * 20, b":" + b"a" * 35]) == [
        True,
        False,
        False,
    ]
