"""The redaction step: text in, text with typed placeholders out.

One :class:`Redactor` is built from a :class:`~prtrace.redaction.config.PrivacyConfig`
and used for everything a process records or stores: the recorder's documents
and events, the backend's ingest, the judge's view. Its contract:

* **typed, never silent**: a found secret becomes ``<redacted:{type}>`` in its
  place, so a reader (or the judge) still sees that a secret was handled, and
  where;
* **deterministic and idempotent**: the same text always gives the same result,
  and redacting a redacted text changes nothing. The recorder relies on the
  first for its hash chain (a document's redacted text after one edit is the
  redacted text before the next), the backend on the second (a trace redacted
  by the recorder passes the server's safety net unchanged, so its hashes and
  patches stay valid);
* **cheap when there is nothing**: :meth:`Redactor.suspicious_bytes`, a few
  C-speed scans for a superset of every detector's trigger, decides whether the
  detectors run at all.
"""

from __future__ import annotations

import codecs
import re
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import ahocorasick_rs

from prtrace.redaction.config import PrivacyConfig
from prtrace.redaction.detectors import (
    CLASS_TABLE,
    EMAIL,
    HOME_USER,
    MARK_AFTER,
    PLACEHOLDER_PREFIX,
    Anchor,
    Detector,
    anchored,
    gated,
    secret_detectors,
    slug,
)
from prtrace.redaction.leftmost import LeftmostScan

_TOKEN_CHARS = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=_-"
_RUN_TABLE = bytes(97 if c in _TOKEN_CHARS else 32 for c in range(256))
_RUN = b"a" * 20
_CACHE_SIZE = 16
_CACHE_MIN = 4096
"""Texts at least this long are remembered: an editor's document is redacted at the
end of one edit burst and again as the start of the next."""
_VIEWS = ("raw", "low", "cls")
_ENV_NAME = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")
_SCHEME = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+.-")
_LOCAL = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._%+-")
_VALUE_RUN = re.compile(r"[A-Za-z0-9+/=_.-]*+")
"""The value of an ``ENV_NAME=value`` assignment (high-entropy-string's second rule)."""
PROBES = (b"\\u00", b"\\/")
"""Literals the pre-check also reports where found, for the JSON layer
(:mod:`prtrace.redaction.events`): a JSON escape that may hide a literal. Found in the
raw view's pass, they cost no scan of their own."""
Structural = Callable[[int, int], bool]
"""``(start, end)`` of a found literal in the scanned bytes → True if it is structure
(a JSON key, an id or a hash) rather than text a secret can be in."""


def _one_byte(error: UnicodeError) -> tuple[str, int]:
    assert isinstance(error, UnicodeEncodeError)
    return "\x85" * (error.end - error.start), error.end


codecs.register_error("prtrace-one-byte", _one_byte)


def _scan_bytes(text: str) -> bytes:
    """``text`` as one byte per character, so that positions in the bytes are positions
    in the text: Latin-1, and any other character as ``\\x85`` (a non-ASCII byte, which
    the views read as space). Every literal is ASCII, so none is lost or made up."""
    return text.encode("latin-1", "prtrace-one-byte")


def _is_word(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


@dataclass
class Ops:
    """What one redactor did, counted (the linear-cost tests read it): bytes scanned
    by the C passes, regex tries at anchors, characters walked back from anchors, and
    bytes given to whole-text regex runs (detectors without anchors)."""

    scanned: int = 0
    attempts: int = 0
    walked: int = 0
    whole: int = 0

    def total(self) -> int:
        return self.scanned + self.attempts + self.walked + self.whole


class _Plan:
    """The anchors and gates of all detectors as two Aho-Corasick automata: one over
    the lower-cased bytes (``low`` literals, and ``raw`` ones lower-cased then checked
    against the bytes), one over the ``cls`` view. Detectors with the same anchors
    (the regexes of one label) form a group, whose hits are found once."""

    def __init__(self, detectors: list[Detector]) -> None:
        needles: dict[str, dict[bytes, int]] = {"low": {}, "cls": {}, "raw": {}}
        self.probe_of: dict[int, bytes] = {}
        """Raw needle index → the probe (:data:`PROBES`) it is."""
        # (automaton, needle index) -> (detectors it is a gate of, [(group, anchor,
        # the exact bytes a raw literal must be)])
        self.uses: dict[
            tuple[str, int], tuple[set[int], list[tuple[int, Anchor, bytes | None]]]
        ] = {}
        self.groups: list[list[int]] = []
        """Group → its detectors."""
        group_of: dict[int, int] = {}

        def index_of(view: str, needle: str) -> tuple[str, int, bytes | None]:
            # A raw literal with letters of one case only is found case-sensitively in
            # the bytes themselves (``AC`` must not stop at every ``back``).
            data = needle.encode("utf-8", "surrogatepass")
            automaton = "raw" if view == "raw" and data.lower() != data else view
            automaton = "low" if automaton == "raw" and data.lower() == data else automaton
            index = needles[automaton].setdefault(data, len(needles[automaton]))
            self.uses.setdefault((automaton, index), (set(), []))
            return automaton, index, None

        self.gated: list[bool] = []
        self.unanchored: list[int] = []
        for i, detector in enumerate(detectors):
            anchors = detector.anchors
            # A gate one of whose literals every anchor contains says nothing more.
            gate = detector.gate
            if anchors is not None and all(
                any(g in a.needle.lower() for g in gate) for a in anchors
            ):
                gate = ()
            for literal in gate:
                automaton, index, _ = index_of("low", literal)
                self.uses[(automaton, index)][0].add(i)
            self.gated.append(bool(gate))
            if anchors is None:
                self.unanchored.append(i)
                continue
            group = group_of.get(id(anchors))
            if group is not None:
                self.groups[group].append(i)
                continue
            group = group_of[id(anchors)] = len(self.groups)
            self.groups.append([i])
            for anchor in anchors:
                automaton, index, exact = index_of(anchor.view, anchor.needle)
                self.uses[(automaton, index)][1].append((group, anchor, exact))
        for probe in PROBES:
            index = needles["raw"].setdefault(probe, len(needles["raw"]))
            self.uses.setdefault(("raw", index), (set(), []))
            self.probe_of[index] = probe
        self.automata = {
            view: ahocorasick_rs.BytesAhoCorasick(
                list(found), implementation=ahocorasick_rs.Implementation.DFA
            )
            for view, found in needles.items()
            if found
        }
        # The raw and class views' literals are rare on clean text: found by a leftmost
        # search first, which has a prefilter (prtrace/redaction/leftmost.py).
        self.leftmost = {
            view: LeftmostScan(list(needles[view]), self.automata[view])
            for view in ("raw", "cls")
            if view in self.automata
        }

    def scan(
        self,
        data: bytes,
        ops: Ops,
        structural: Structural | None = None,
        probes: list[tuple[bytes, int]] | None = None,
    ) -> tuple[set[int], dict[int, list[tuple[Anchor, int]]]]:
        """Detectors whose gate is present, and each group's anchor hits (position in
        ``data``), hits that ``structural`` calls structure left out. The gates are
        read first: a literal that only anchors detectors whose gates are all absent
        (``//`` for npm's ``_authToken``) is not looked at further. ``probes`` gets
        ``(probe, position)`` for each :data:`PROBES` literal found."""
        gates: set[int] = set()
        uses = self.uses
        found: list[tuple[str, bytes, int, list[tuple[int, int]]]] = []
        for view, automaton in self.automata.items():
            # Two passes per view (make it, scan it); the raw view is only scanned.
            buf = (
                data
                if view == "raw"
                else data.lower()
                if view == "low"
                else data.translate(CLASS_TABLE)
            )
            ops.scanned += len(data) if view == "raw" else 2 * len(data)
            if view in self.leftmost:
                matches, reread = self.leftmost[view].matches(buf)
                ops.scanned += reread
            else:
                matches = automaton.find_matches_as_indexes(buf, overlapping=True)
            if not matches:
                continue
            spans_of: dict[int, list[tuple[int, int]]] = {}
            for index, start, end in matches:
                spans_of.setdefault(index, []).append((start, end))
            for index, spans in spans_of.items():
                if view == "raw" and index in self.probe_of:
                    if probes is not None:
                        probes += [(self.probe_of[index], start) for start, _ in spans]
                    if not uses[(view, index)][1]:
                        continue
                gate_dets, anchor_uses = uses[(view, index)]
                if gate_dets:
                    gates.update(gate_dets)
                if anchor_uses:
                    found.append((view, buf, index, spans))
        hits: dict[int, list[tuple[Anchor, int]]] = {}
        for view, _, index, spans in found:
            live = [use for use in uses[(view, index)][1] if self._live(use[0], gates)]
            if live:
                self._hits(data, ops, structural, spans, live, hits)
        return gates, hits

    def _live(self, group: int, gates: set[int]) -> bool:
        return any(not self.gated[det] or det in gates for det in self.groups[group])

    @staticmethod
    def _hits(
        data: bytes,
        ops: Ops,
        structural: Structural | None,
        spans: list[tuple[int, int]],
        anchor_uses: list[tuple[int, Anchor, bytes | None]],
        hits: dict[int, list[tuple[Anchor, int]]],
    ) -> None:
        """The spans of one literal that survive structure, ``mark`` and ``verify``,
        added to each group it anchors."""
        if structural is not None:
            spans = [(s, e) for s, e in spans if not structural(s, e)]
            if not spans:
                return
        marked: list[tuple[int, int]] | None = None
        for group, anchor, _ in anchor_uses:
            use = spans
            if anchor.mark:
                if marked is None:
                    ops.attempts += len(spans)
                    marked = [(s, e) for s, e in spans if MARK_AFTER.match(data, s)]
                use = marked
            verify = anchor.verify
            if verify is not None:
                ops.attempts += len(use)
                use = [(s, e) for s, e in use if verify(data, s, e)]
            if use:
                hits.setdefault(group, []).extend((anchor, s) for s, _ in use)


@dataclass
class Redactor:
    config: PrivacyConfig = field(default_factory=PrivacyConfig)
    counts: dict[str, int] = field(default_factory=dict)
    """How many values of each type this redactor replaced (for reports and tests)."""
    ops: Ops = field(default_factory=Ops)

    def __post_init__(self) -> None:
        detectors: list[Detector] = []
        if self.config.redact_secrets:
            detectors += secret_detectors()
        for label, pattern in self.config.patterns.items():
            regex = re.compile(pattern)
            detectors.append(Detector(slug(label) or "custom", regex))
        if self.config.redact_emails:
            detectors.append(anchored(gated(EMAIL)))
        if self.config.redact_usernames:
            detectors.append(anchored(gated(HOME_USER)))
        self.detectors = detectors
        self.allow = [re.compile(p) for p in self.config.allowlist]
        self._replacers = [self._replacer(d) for d in detectors]
        self._plan = _Plan(detectors)
        self.always = bool(self.config.patterns)
        """Project patterns may match anything: no pre-check then."""
        self._cache: OrderedDict[str, str] = OrderedDict()
        self._found: list[tuple[str, str]] | None = None

    # --- the pre-check ---------------------------------------------------------------

    def _active(
        self,
        data: bytes,
        structural: Structural | None = None,
        probes: list[tuple[bytes, int]] | None = None,
    ) -> dict[int, list[tuple[Anchor, int]] | None]:
        """The detectors that could match, each with its anchor hits (None: no anchors,
        so it runs over the whole text)."""
        plan = self._plan
        gates, hits = plan.scan(data, self.ops, structural, probes)
        active: dict[int, list[tuple[Anchor, int]] | None] = {}
        for group, found in hits.items():
            for det in plan.groups[group]:
                if not plan.gated[det] or det in gates:
                    active[det] = found
        if plan.unanchored:
            loose = self.always or self._token_run(data)
            for det in plan.unanchored:
                if loose and (not plan.gated[det] or det in gates):
                    active[det] = None
        return active

    @property
    def has_unanchored(self) -> bool:
        """A detector we know no anchors of (a project pattern, a new plugin)."""
        return bool(self._plan.unanchored)

    def hit_positions(
        self,
        data: bytes,
        structural: Structural | None = None,
        probes: list[tuple[bytes, int]] | None = None,
    ) -> list[int]:
        """Where an anchored detector could match in ``data``: the pre-check's hits,
        positions only (a batch's events are told apart by them); ``probes`` gets
        where each :data:`PROBES` literal is."""
        plan = self._plan
        gates, hits = plan.scan(data, self.ops, structural, probes)
        return [
            pos
            for group, found in hits.items()
            if any(not plan.gated[det] or det in gates for det in plan.groups[group])
            for _, pos in found
        ]

    @staticmethod
    def _token_run(data: bytes) -> bool:
        return _RUN in data.translate(_RUN_TABLE)

    def suspicious(self, text: str) -> bool:
        """Could any detector match? False means :meth:`text` would return it as is."""
        return self.suspicious_bytes(_scan_bytes(text))

    def suspicious_bytes(
        self,
        data: bytes,
        structural: Structural | None = None,
        probes: list[tuple[bytes, int]] | None = None,
    ) -> bool:
        """The pre-check: one Aho-Corasick pass per view over ``data`` for every
        detector's anchors and gates (C speed, linear, no regex). ``structural`` leaves
        out literals found in structure (an event's keys, ids, hashes); ``probes`` gets
        the :data:`PROBES` found (unless the answer is True without a scan)."""
        if self.always:
            return True
        return bool(self._active(data, structural, probes))

    # --- redaction -------------------------------------------------------------------

    def findings(self, text: str) -> list[tuple[str, str]]:
        """The ``(value, placeholder)`` pairs that :meth:`text` would replace in ``text``."""
        found: list[tuple[str, str]] = []
        self._found = found
        try:
            self._cache.pop(text, None)
            self.text(text)
        finally:
            self._found = None
        return found

    def text(self, text: str) -> str:
        """``text`` with every secret (and configured personal datum) replaced."""
        if not text:
            return text
        active = self._active(_scan_bytes(text))
        if not active and not self.always:
            return text
        if len(text) >= _CACHE_MIN:
            cached = self._cache.get(text)
            if cached is not None:
                self._cache.move_to_end(text)
                return cached
        out = self._redact(text, active)
        if len(text) >= _CACHE_MIN:
            self._cache[text] = out
            if len(self._cache) > _CACHE_SIZE:
                self._cache.popitem(last=False)
        return out

    __call__ = text

    def _redact(self, text: str, active: dict[int, list[tuple[Anchor, int]] | None]) -> str:
        out = text
        starts_of: dict[int, list[tuple[int, int]]] = {}
        """Candidate starts by anchors (the regexes of one label share them)."""
        order = range(len(self.detectors)) if self.always else sorted(active)
        for det in order:
            if det not in active and not (self.always and det in self._plan.unanchored):
                continue
            detector = self.detectors[det]
            found = active.get(det)
            replace = self._replacers[det]
            if found is None:
                # No anchors: the whole text.
                self.ops.whole += len(out)
                new = detector.regex.sub(replace, out)
            else:
                key = id(detector.anchors)
                starts = starts_of.get(key)
                if starts is None:
                    starts = starts_of[key] = sorted(set(self._starts(out, found)))
                new = self._sub_at(detector, replace, out, starts)
            if new is not out and new != out:
                # Positions moved: find the later detectors' anchors again.
                out = new
                active = self._active(_scan_bytes(out))
                starts_of.clear()
        return out

    def _sub_at(
        self,
        detector: Detector,
        replace: Callable[[re.Match[str]], str],
        text: str,
        starts: list[tuple[int, int]],
    ) -> str:
        """``detector.regex.sub(replace, text)``, trying the regex only at the starts the
        anchors give (every match starts at one of them), left to right, a match
        consuming what it covers as ``sub`` does."""
        match = detector.regex.match
        pieces: list[str] = []
        last = 0
        skip_to = 0  # starts before this are covered by a match
        fail_to = 0  # envname starts before this are known to fail
        attempts = 0
        for start, fails in starts:
            if start < skip_to or start < 0 or (fails and start < fail_to):
                continue
            attempts += 1
            m = match(text, start)
            if m is None:
                if fails > fail_to:
                    fail_to = fails
                continue
            pieces.append(text[last : m.start()])
            pieces.append(replace(m))
            last = m.end()
            skip_to = max(m.end(), start + 1)
        self.ops.attempts += attempts
        if not pieces:
            return text
        pieces.append(text[last:])
        return "".join(pieces)

    def _starts(self, text: str, found: list[tuple[Anchor, int]]) -> Iterator[tuple[int, int]]:
        """Candidate starts ``(start, fails)``: ``fails`` > 0 (``NAME=value`` starts
        only) says that if the try at ``start`` fails, no such start before ``fails``
        can match either."""
        ops = self.ops
        value_end = -1
        for anchor, pos in sorted(found, key=lambda hit: hit[1]):
            back = anchor.back
            if back is None:
                for k in range(anchor.lo, anchor.hi + 1):
                    yield pos - k, 0
                continue
            if back == "mark" or back == "line":
                # White space back from the literal (a quote, a name) to what must be
                # before it: ``:``/``=``/``=>`` (mark), ``;`` or a line start (line).
                k = pos
                while k > 0 and text[k - 1].isspace():
                    k -= 1
                ops.walked += pos - k
                if back == "mark":
                    yield k - 1, 0
                    yield k - 2, 0
                else:
                    yield k - 1, 0
                    if k == 0:
                        yield 0, 0
                    newline = text.find("\n", k, pos)
                    if newline >= 0:
                        # Every line start in the white space is followed by the same
                        # text: the first one decides for all.
                        yield newline + 1, 0
            elif back == "envname":
                # ``NAME=value``: the name starts where the run of name characters does.
                r = pos
                while r > 0 and text[r - 1] in _ENV_NAME:
                    r -= 1
                ops.walked += pos - r
                if text[r].isupper() and (r == 0 or not _is_word(text[r - 1])):
                    # If this fails, so does every later name inside the same value:
                    # the value ends at the same place (found once per value).
                    if pos + 2 >= value_end:
                        found_run = _VALUE_RUN.match(text, pos + 2)
                        value_end = found_run.end() if found_run else pos + 2
                        ops.walked += value_end - pos
                    yield r, value_end
            elif back in ("scheme", "local"):
                # Over the scheme of ``scheme://`` or the local part of ``local@``: the
                # earliest start a word boundary allows (the rest of the match is the
                # same from any of them).
                chars = _SCHEME if back == "scheme" else _LOCAL
                r = pos
                while r > 0 and text[r - 1] in chars:
                    r -= 1
                ops.walked += pos - r
                if back == "local":
                    yield r, 0
                    continue
                for p in range(r, pos):
                    if text[p].isalpha() and (p == 0 or not _is_word(text[p - 1])):
                        yield p, 0
                        break
                ops.walked += pos - r

    def _replacer(self, detector: Detector) -> Callable[[re.Match[str]], str]:
        placeholder = detector.placeholder()

        def replace(match: re.Match[str]) -> str:
            whole = match.group(0)
            groups = 0 if detector.whole else match.re.groups
            group = next((i for i in range(1, groups + 1) if match.group(i)), 0)
            value = match.group(group)
            if value.startswith(PLACEHOLDER_PREFIX) or value == placeholder:
                return whole
            if detector.check is not None and not detector.check(value):
                return whole
            if any(a.fullmatch(value) for a in self.allow):
                return whole
            self.counts[detector.label] = self.counts.get(detector.label, 0) + 1
            if self._found is not None:
                self._found.append((value, placeholder))
            if group == 0:
                return placeholder
            start, end = match.span(group)
            base = match.start(0)
            return whole[: start - base] + placeholder + whole[end - base :]

        return replace


_default: Redactor | None = None


def default_redactor() -> Redactor:
    """Secrets with the built-in rules only: the backend's safety net and the judge.

    Personal data is the recorder's business, by the developer's configuration
    (the server cannot know which user names are personal), so it is not redacted
    here; that also keeps the server's pre-check to the secret triggers."""
    global _default
    if _default is None:
        _default = Redactor(PrivacyConfig(redact_usernames=False))
    return _default


def redact(text: str) -> str:
    """Redact ``text`` with the default rules."""
    return default_redactor().text(text)
