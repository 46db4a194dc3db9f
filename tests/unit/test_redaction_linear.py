"""The redactor's cost is linear in the text, counted in operations (not timed).

Every detector has anchors (literals found in one Aho-Corasick pass per view), so no
regex is ever run over the whole text; what remains is counted by
:class:`prtrace.redaction.engine.Ops`: bytes scanned by the C passes, regex tries at
anchors, characters walked back from anchors. Each try is bounded by the regexes
themselves (possessive and bounded quantifiers), so operations per byte bounded means
time per byte bounded. Long and adversarial strings — runs that every rule's
quantifiers would backtrack over, anchors repeated back to back, the shapes terminals
print all day — must all stay under the same constant per byte.
"""

from __future__ import annotations

import base64
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from prtrace.redaction import PrivacyConfig, Redactor, default_redactor
from prtrace.redaction.detectors import ANCHORS, secret_detectors
from prtrace.redaction.events import redact_event_json
from tests.support.privacy_corpus import CORPUS

OPS_PER_BYTE = 13
"""Scanning costs 5 per byte (lower-case and class views, each made and read, and the
bytes themselves read for case-sensitive literals), 6 where those literals are many (a
leftmost search finds them, then an overlapping pass reports each); tries and walks add at most a few
per byte on the worst shapes below. A text whose secrets were replaced is scanned again
(its placeholders are longer than what they replace): its bytes count too."""


def _ops(redactor: Redactor, text: str) -> int:
    redactor.ops.__init__()  # type: ignore[misc]
    redactor.text(text)
    assert redactor.ops.whole == 0, "a detector ran over the whole text"
    return redactor.ops.total()


def _adversarial(n: int) -> dict[str, str]:
    rng = random.Random(n)
    return {
        "equals": "=" * n,
        "banner": ("=" * 30 + " test session starts " + "=" * 30 + "\n") * (n // 82 + 1),
        "base64": base64.b64encode(rng.randbytes(n * 3 // 4)).decode(),
        "data-uri": "data:image/png;base64," + base64.b64encode(rng.randbytes(n)).decode(),
        "hex": rng.randbytes(n // 2).hex(),
        "upper-hex": rng.randbytes(n // 2).hex().upper(),
        "minified": "function(e,t){return e.key===t?n(e):void 0};var a={token:1,api:2};"
        * (n // 66 + 1),
        "names": "tokentokentoken" * (n // 15 + 1),
        "names=": "token=token=" * (n // 12 + 1),
        "password=": "password=" * (n // 9 + 1),
        "env=": "A=" * (n // 2) + '"',
        "env-long": "A" * n + "=" + "b" * n + "'",
        "quotes": '="' * (n // 2),
        "quote-run": "= '" + "a" * n,
        "spaces": ";" + " " * n + "password=x ",
        "newlines": "\n" * n + "password=x ",
        "scheme": "a" * n + "://",
        "schemes": "x://" * (n // 4),
        "sk-": "sk-" * (n // 3),
        "gl": "gl" * (n // 2),
        "AC": "AC" * (n // 2),
        "dots": ("a" * 24 + ".abcdef.") * (n // 32 + 1),
        "colons": ("12345678:" + "a" * 35) * (n // 44 + 1),
        "begin": "-----BEGIN RSA PRIVATE KEY-----\n" * (n // 32 + 1),
        "at": "a@" * (n // 2),
        "home": "/home/" * (n // 6),
        "pytest": "tests/test_mod.py::test_case PASSED [ 10%]\n" * (n // 43 + 1),
        "non-ascii": ("café ✓ ümlaut — token=tökén " * (n // 27 + 1)) + "password=x",
    }


@pytest.mark.parametrize("shape", sorted(_adversarial(64)))
def test_operations_per_byte_stay_bounded_on_long_adversarial_text(shape: str) -> None:
    everything = Redactor(PrivacyConfig(redact_emails=True, redact_usernames=True))
    for n in (1_000, 30_000):
        text = _adversarial(n)[shape]
        for redactor in (default_redactor(), everything):
            ops = _ops(redactor, text)
            assert ops <= OPS_PER_BYTE * len(text) + 200, (shape, n, ops / len(text))


_PIECES = [*"aAkKeEyY=:;\"' \n._-/+09@", "sk-", "token", "password", "://", "AKIA", "gl", "=" * 20]
_TOKENISH = st.lists(st.sampled_from(_PIECES), max_size=60).map("".join).map(lambda s: s * 30)
"""Pieces of anchors, marks and runs, repeated: what makes a naive rule backtrack."""


@settings(max_examples=60, deadline=None)
@given(_TOKENISH)
def test_operations_per_byte_stay_bounded_on_generated_text(text: str) -> None:
    if text:
        size = max(len(text), len(default_redactor().text(text)))
        assert _ops(default_redactor(), text) <= OPS_PER_BYTE * size + 200


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(CORPUS), _TOKENISH, _TOKENISH)
def test_a_secret_in_adversarial_text_is_still_found(
    case: tuple[str, str, str], before: str, after: str
) -> None:
    label, secret, line = case
    text = before[:300] + "\n" + line.format(s=secret) + "\n" + after[:300]
    out = default_redactor().text(text)
    assert secret not in out and f"<redacted:{label}>" in out


def test_anchored_matches_are_the_whole_text_regexes_matches() -> None:
    """Trying each regex only at its anchors finds what ``sub`` over the whole text
    finds, on the corpus lines and on them run together."""
    redactor = default_redactor()
    lines = [line.format(s=secret) for _, secret, line in CORPUS]
    for text in [*lines, "\n".join(lines), " ; ".join(lines)]:
        expected = text
        for detector, replace in zip(redactor.detectors, redactor._replacers, strict=True):
            expected = detector.regex.sub(replace, expected)
        assert redactor.text(text) == expected


def test_every_detector_has_anchors() -> None:
    """A detect-secrets plugin without a row in ANCHORS would be run over whole texts."""
    missing = {d.label for d in secret_detectors() if d.anchors is None}
    assert not missing, f"add anchors for {sorted(missing)} to ANCHORS"
    assert all(ANCHORS[label] for label in {d.label for d in secret_detectors()})


def test_clean_events_of_every_shape_are_one_scan() -> None:
    redactor = default_redactor()
    blob = base64.b64encode(random.Random(1).randbytes(3000)).decode()
    for text in ("=" * 2000, blob, "0123abcd" * 250, "ok"):
        raw = (
            b'{"type":"terminal_command","id":"ses_x-1","t":"2026-01-01T00:00:00Z",'
            b'"session_id":"ses_x","cmd":"pytest","stdout":"' + text.encode() + b'"}'
        )
        redactor.ops.__init__()  # type: ignore[misc]
        assert redact_event_json(raw, redactor) is None
        # A random blob may hold a short anchor (``AC``, ``gl``): a few tries, no more.
        assert redactor.ops.attempts <= len(text) // 50 and redactor.ops.whole == 0
