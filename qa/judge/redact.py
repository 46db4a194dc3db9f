"""Secrets out of what the judge sees: the one place text is redacted.

A small pattern list for now (tokens with well-known prefixes, private keys,
``password=``-style assignments, credentials in URLs, bearer headers, JWTs).
A fuller privacy module may replace :func:`redact`; everything the judge
sends to a model goes through it, so swapping it here is enough.
"""

from __future__ import annotations

import re

MASK = "[REDACTED]"

_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    # -----BEGIN ... PRIVATE KEY----- blocks, whole.
    (
        re.compile(
            r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(?:-----END [A-Z ]*PRIVATE KEY-----|\Z)",
            re.S,
        ),
        MASK,
    ),
    # Tokens with a recognisable prefix: OpenAI, Anthropic, GitHub, GitLab, Slack, AWS, prtrace, Google.
    (
        re.compile(
            r"\b(?:sk-(?:proj-|ant-)?[A-Za-z0-9_-]{16,}|gh[pousr]_[A-Za-z0-9]{20,}"
            r"|github_pat_[A-Za-z0-9_]{20,}|glpat-[A-Za-z0-9_-]{20,}|xox[abprs]-[A-Za-z0-9-]{10,}"
            r"|(?:AKIA|ASIA)[0-9A-Z]{16}|pt[au]_[A-Za-z0-9_-]{20,}|AIza[0-9A-Za-z_-]{35})"
        ),
        MASK,
    ),
    # JSON Web Tokens.
    (re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"), MASK),
    # Authorization: Bearer/Basic <credential>.
    (re.compile(r"(?i)\b(bearer|basic)(\s+)[A-Za-z0-9._~+/=-]{8,}"), rf"\1\2{MASK}"),
    # user:password@host in URLs.
    (re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s:@]+:[^/\s@]+@"), rf"\1{MASK}@"),
    # key = value / key: value / KEY=value for secret-sounding keys.
    (
        re.compile(
            r"(?i)\b([A-Za-z0-9_.-]*(?:password|passwd|pwd|secret|token|api[_-]?key|access[_-]?key"
            r"|private[_-]?key|credential)s?[A-Za-z0-9_.-]*)(\s*[:=]\s*)"
            r"(\"[^\"\n]{3,}\"|'[^'\n]{3,}'|[^\s\"',;]{3,})"
        ),
        rf"\1\2{MASK}",
    ),
]


def redact(text: str) -> str:
    """``text`` with every secret the patterns know replaced by ``[REDACTED]``."""
    if not text:
        return text
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text
