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

import re
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

from prtrace.redaction.config import PrivacyConfig
from prtrace.redaction.detectors import (
    ASSIGNMENT_MARKS,
    EMAIL,
    HOME_USER,
    PLACEHOLDER_PREFIX,
    PRECHECK_LITERALS,
    Detector,
    gated,
    secret_detectors,
    slug,
)

_TOKEN_CHARS = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=_-"
_RUN_TABLE = bytes(97 if c in _TOKEN_CHARS else 32 for c in range(256))
_RUN = b"a" * 20
_NAME_WINDOW = 64
"""Bytes before ``=``/``: `` where a secret's name must be (``"client_secret\": \"``)."""
_CACHE_SIZE = 16
_CACHE_MIN = 4096
"""Texts at least this long are remembered: an editor's document is redacted at the
end of one edit burst and again as the start of the next."""


@dataclass
class Redactor:
    config: PrivacyConfig = field(default_factory=PrivacyConfig)
    counts: dict[str, int] = field(default_factory=dict)
    """How many values of each type this redactor replaced (for reports and tests)."""

    def __post_init__(self) -> None:
        detectors: list[Detector] = []
        if self.config.redact_secrets:
            detectors += secret_detectors()
        for label, pattern in self.config.patterns.items():
            regex = re.compile(pattern)
            detectors.append(Detector(slug(label) or "custom", regex))
        if self.config.redact_emails:
            detectors.append(gated(EMAIL))
        if self.config.redact_usernames:
            detectors.append(gated(HOME_USER))
        self.detectors = detectors
        self.allow = [re.compile(p) for p in self.config.allowlist]
        self._subs = [(d.regex.sub, self._replacer(d), d.gate) for d in detectors]
        self.literals = (
            tuple(lit.encode() for lit in PRECHECK_LITERALS) if self.config.redact_secrets else ()
        )
        self.marks = ASSIGNMENT_MARKS if self.config.redact_secrets else ()
        self.runs = self.config.redact_secrets
        self._names = (
            re.compile(b"|".join(map(re.escape, self.literals))) if self.literals else None
        )
        personal: list[str] = []
        if self.config.redact_emails:
            personal.append("@")
        if self.config.redact_usernames:
            personal += ["/home/", "/users/", "\\users\\"]
        self.personal = tuple(lit.encode() for lit in personal)
        self.always = bool(self.config.patterns)
        """Project patterns may match anything: no pre-check then."""
        self._cache: OrderedDict[str, str] = OrderedDict()
        self._found: list[tuple[str, str]] | None = None

    def suspicious(self, text: str) -> bool:
        """Could any detector match? False means :meth:`text` would return it as is."""
        return self.suspicious_bytes(text.encode("utf-8", "surrogatepass"))

    def suspicious_bytes(
        self, data: bytes, skip_run: Callable[[int, int], bool] | None = None
    ) -> bool:
        """The fast pre-check (C-speed scans, no regex): a run of 20+ token characters
        (unless ``skip_run(start, end)`` says it is structure: an id, a hash), or a
        secret name where an assignment can be, or ``://``; personal-data literals when
        configured. A superset of every detector's trigger (tests check the corpus)."""
        if self.always:
            return True
        if self.runs:
            runs = data.translate(_RUN_TABLE)
            pos = 0
            while (start := runs.find(_RUN, pos)) >= 0:
                end = runs.find(b" ", start)
                end = len(runs) if end < 0 else end
                if skip_run is None or not skip_run(start, end):
                    return True
                pos = end
        if self.runs and b"-----" in data and (b"-----BEGIN" in data or b"PuTTY" in data):
            return True  # a key block, even one with short lines
        if self.personal:
            low = data.lower()
            if any(p in low for p in self.personal):
                return True
        if not self.marks:
            return False
        if b"://" in data:
            return True
        return self._name_before_mark(data)

    def _name_before_mark(self, data: bytes) -> bool:
        """A secret-looking name just before an ``=`` or ``: ``? Only the bytes before
        each mark are searched (a name, quotes, spaces), not the whole text, unless
        there are many marks (code): then the whole text once."""
        names = self._names
        if names is None:
            return False
        count = data.count(b"=") + data.count(b": ")
        if count > 16:
            return names.search(data.lower()) is not None
        for mark in (b"=", b": "):
            pos = data.find(mark)
            while pos >= 0:
                if names.search(data[max(0, pos - _NAME_WINDOW) : pos].lower()):
                    return True
                pos = data.find(mark, pos + 1)
        return False

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
        if not text or not self.suspicious(text):
            return text
        if len(text) >= _CACHE_MIN:
            cached = self._cache.get(text)
            if cached is not None:
                self._cache.move_to_end(text)
                return cached
        out, low = text, text.lower()
        for sub, replace, gate in self._subs:
            if gate and not any(g in low for g in gate):
                continue
            out = sub(replace, out)
        if len(text) >= _CACHE_MIN:
            self._cache[text] = out
            if len(self._cache) > _CACHE_SIZE:
                self._cache.popitem(last=False)
        return out

    __call__ = text

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
