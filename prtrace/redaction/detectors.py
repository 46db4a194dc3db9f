"""What counts as a secret: detect-secrets' provider plugins plus the shapes they miss.

Provider formats change (new token prefixes, new lengths), so the provider
regexes come from detect-secrets' plugins — a maintained list — rather than
from a copy here: every ``RegexBasedPlugin`` contributes its ``denylist``,
labelled with a slug of its ``secret_type`` (``AWS Access Key`` →
``aws-access-key``). Plugins whose regex does not fit *replacing* text are
left out and covered below instead: the private-key plugin only matches the
``BEGIN`` line (the key body must go too), the JWT one ends lazily (it would
leave the signature), the URL one would read into a placeholder (ours also
labels database URLs apart), the public-IP one is not a secret, and Artifactory's
``AP…`` shape matches ordinary identifiers such as ``APDUHandler``.

Our own detectors add what a recorder sees and the plugins do not cover:
private-key blocks, ``KEY=value`` assignments of secret-looking names (in
shells, ``.env`` files, YAML/JSON and code), passwords in URLs and connection
strings, bearer/basic credentials, current provider prefixes (``sk-proj-``,
``github_pat_``, ``AIza``, ``npm_``, ``hvs.``, …), high-entropy strings in
assignments, and — when configured — e-mail addresses and home-directory
user names.

A detector with a capture group replaces only that group (``password=`` stays
visible, its value is replaced), so the reader still sees *what* was there.
"""

from __future__ import annotations

import math
import re
import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

PLACEHOLDER_PREFIX = "<redacted:"


@dataclass(frozen=True, slots=True)
class Anchor:
    """A literal that every match of a detector contains, and where the match starts
    relative to it: the engine finds all anchors of all detectors in one pass per view
    (Aho-Corasick) and tries each regex only at the starts they give.

    ``view`` is what the literal is looked for in: ``raw`` (the text's bytes: looked for
    lower-cased, then checked), ``low`` (ASCII-lower-cased: for ``(?i)`` rules) or ``cls`` (:data:`CLASS_TABLE`: every token
    character is ``a``, quotes are ``q``, ``.`` and ``:`` stay, the rest is a space — for
    rules that start at a shape, not a word). A literal found at ``p`` gives the starts
    ``p - k`` for ``k`` in ``lo..hi``, or, with ``back``, the starts found by walking back
    from ``p`` (see ``prtrace.redaction.engine``): ``mark`` (over white space to a
    ``:``/``=``/``=>``), ``line`` (over white space to ``;`` or a line start), ``scheme``
    (over a URL scheme), ``envname`` (over an upper-case name), ``local`` (over the local
    part of an address)."""

    needle: str
    view: str = "raw"
    lo: int = 0
    hi: int = 0
    back: str | None = None
    mark: bool = False
    """The literal starts a name that an ``=`` or ``:`` must follow (:data:`MARK_AFTER`):
    ``PASSED`` in test output is not a try."""
    verify: Callable[[bytes, int, int], bool] | None = None
    """A cheap necessary condition around the literal found at ``data[start:end]``,
    checked by the pre-check before the hit counts: a shape literal such as
    ``:`` + 35 token characters is in every ``sha256:`` line, but the rule it anchors
    needs digits before it. It must hold on the text and on its JSON encoding."""


MARK_AFTER = re.compile(
    rb"[A-Za-z0-9_.-]{0,90}+(?:\\?[\"'\]]){0,2}"
    rb"(?:[ \t\n\r\f\v\x1c-\x1f\x80-\xff]|\\[ntrfv]|\\u[0-9a-fA-F]{4})*+[:=]"
)
"""From a secret word: the rest of the name (at most 90 characters: 64 of suffix
after the longest name), a quote or ``]``, white space (also as a JSON escape, and
any non-ASCII byte), then the assignment. Every secret-assignment rule needs it."""


@dataclass(frozen=True, slots=True)
class Detector:
    label: str
    """The placeholder's type: ``<redacted:{label}>``."""
    regex: re.Pattern[str]
    check: Callable[[str], bool] | None = None
    """An extra test on the found value (entropy, JWT shape); None accepts all."""
    whole: bool = False
    """Replace the whole match even though the regex has groups (back-references)."""
    gate: tuple[str, ...] = ()
    """Lower-case literals one of which every match contains: a text without any of
    them skips this detector."""
    anchors: tuple[Anchor, ...] | None = None
    """Where a match can start (see :class:`Anchor`): the regex is tried only there,
    never scanned over the whole text. None: a detector we know nothing about (a
    project pattern, a new detect-secrets plugin), run over the whole text."""

    def placeholder(self) -> str:
        return f"{PLACEHOLDER_PREFIX}{self.label}>"


def slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


# --- helpers --------------------------------------------------------------------------


def shannon_entropy(value: str) -> float:
    """Bits per character; random base64 is ~5–6, hex ~4, English words ~3."""
    if not value:
        return 0.0
    counts = Counter(value)
    n = len(value)
    return -sum(c / n * math.log2(c / n) for c in counts.values())


_HEX = re.compile(r"^[0-9a-fA-F]+$")


def high_entropy(value: str) -> bool:
    """detect-secrets' default limits: hex > 3.0, base64-ish > 4.5 bits per char.

    Long hex (≥ 32) is taken at 3.0; other strings need mixed classes and 4.0,
    which random keys reach and identifiers in code (lower-case words joined by
    ``_``) do not.
    """
    if _HEX.match(value):
        return len(value) >= 32 and shannon_entropy(value) > 3.0
    classes = sum(bool(re.search(p, value)) for p in (r"[a-z]", r"[A-Z]", r"[0-9]", r"[+/=_-]"))
    return classes >= 3 and shannon_entropy(value) > 4.0


def _looks_secret(value: str) -> bool:
    """A quoted value that is a credential rather than a name, a template or a word."""
    if value[0] in "{$%<" or len(value) < 4:
        return False
    if re.search(r"[0-9!@#$%^&*~+/=.-]", value):
        return True
    return bool(re.search(r"[a-z]", value) and re.search(r"[A-Z]", value))


def _jwt_shaped(value: str) -> bool:
    parts = value.split(".")
    return len(parts) == 3 and all(len(p) >= 4 for p in parts)


# --- our detectors --------------------------------------------------------------------

_SECRET_NAME = (
    r"(?:password|passwd|passphrase|pwd|secret|token|api[_.-]?key|apikey"
    r"|access[_.-]?key|private[_.-]?key|client[_.-]?secret|credentials?|auth[_.-]?key"
    r"|signing[_.-]?key|encryption[_.-]?key|session[_.-]?key|cookie[_.-]?secret)"
    r"s?[A-Za-z0-9_.-]{0,64}+"
)
"""A secret's name and up to 64 characters of suffix (``API_KEY_PROD``). Possessive
and bounded: a failed try costs at most the suffix, whatever follows (the pre-check
before it looked for names only 64 bytes before an ``=`` too)."""
_NOT_PLACEHOLDER = r"(?!<redacted:)"

PROVIDER_DETECTORS: list[Detector] = [
    # Whole key blocks; a block cut short (still being typed, or truncated output)
    # goes up to the last base64-looking line after BEGIN.
    Detector(
        "private-key",
        re.compile(
            r"-----BEGIN ((?:[A-Z0-9]+ )*)PRIVATE KEY(?: BLOCK)?-----"
            r"(?:[\s\S]{0,16384}?-----END \1PRIVATE KEY(?: BLOCK)?-----"
            r"|(?:(?:\r?\n|\\n)[A-Za-z0-9+/=]+(?![^\r\n\\\"']))*)"
        ),
        whole=True,
    ),
    Detector("putty-private-key", re.compile(r"PuTTY-User-Key-File-\d+:[^\n]*(?:\n[^\n]+)*")),
    # Current provider prefixes detect-secrets (1.5) does not know.
    Detector("anthropic-api-key", re.compile(r"\bsk-ant-[A-Za-z0-9_-]{20,}")),
    Detector("openai-api-key", re.compile(r"\bsk-(?:proj|svcacct|admin)-[A-Za-z0-9_-]{20,}")),
    Detector("openai-api-key", re.compile(r"\bsk-(?!ant-)[A-Za-z0-9_-]{32,}")),
    Detector("github-token", re.compile(r"\bgithub_pat_[A-Za-z0-9_]{22,}")),
    Detector("github-token", re.compile(r"\bgh[pousr]_[A-Za-z0-9]{30,}")),
    Detector("google-api-key", re.compile(r"\bAIza[0-9A-Za-z_-]{35}")),
    Detector("google-oauth-token", re.compile(r"\bya29\.[0-9A-Za-z_-]{20,}")),
    Detector("stripe-key", re.compile(r"\b(?:sk|rk|pk)_(?:live|test)_[0-9a-zA-Z]{16,}")),
    Detector("stripe-webhook-secret", re.compile(r"\bwhsec_[0-9a-zA-Z]{24,}")),
    Detector("npm-token", re.compile(r"\bnpm_[A-Za-z0-9]{36}")),
    Detector("pypi-token", re.compile(r"\bpypi-[A-Za-z0-9_-]{50,}")),
    Detector("vault-token", re.compile(r"\bhv[sbr]\.[A-Za-z0-9_-]{24,}")),
    Detector("digitalocean-token", re.compile(r"\bdo[pro]_v1_[a-f0-9]{64}")),
    Detector("shopify-token", re.compile(r"\bshp(?:at|ss|ca|pa)_[a-fA-F0-9]{32}")),
    Detector("huggingface-token", re.compile(r"\bhf_[A-Za-z0-9]{34}")),
    Detector(
        "gitlab-token", re.compile(r"\bgl(?:pat|dt|ft|soat|rt|cbt|ptt|agent)-[A-Za-z0-9_-]{20,}")
    ),
    Detector("slack-token", re.compile(r"\bxox[abposre]-[A-Za-z0-9-]{10,}")),
    Detector("prtrace-token", re.compile(r"\bpt[au]_[A-Za-z0-9_-]{20,}")),
    Detector(
        "jwt",
        re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}"),
        _jwt_shaped,
    ),
]
"""Typed shapes of particular providers; they run before the plugins and the generic rules."""

GENERIC_DETECTORS: list[Detector] = [
    # user:password@ in any URL; databases get their own label.
    Detector(
        "connection-string",
        re.compile(
            r"(?i)\b(?:postgres(?:ql)?|mysql|mariadb|mongodb(?:\+srv)?|rediss?|amqps?|mssql"
            r"|sqlserver|oracle|clickhouse|cockroachdb)(?:\+[a-z0-9]+)?://[^\s:/@'\"<>]*:"
            r"(" + _NOT_PLACEHOLDER + r"[^\s@'\"<>]+)@"
        ),
    ),
    Detector(
        "url-password",
        re.compile(
            r"(?i)\b[a-z][a-z0-9+.-]*://[^\s:/@'\"<>]+:(" + _NOT_PLACEHOLDER + r"[^\s/@'\"<>]+)@"
        ),
    ),
    Detector(
        "aws-secret-key",
        re.compile(
            r"(?i)aws.{0,20}?(?:secret|sk).{0,20}?[=:]\s*[\"']?("
            + _NOT_PLACEHOLDER
            + r"[A-Za-z0-9/+]{40})(?![A-Za-z0-9/+])"
        ),
    ),
    Detector(
        "bearer-token",
        re.compile(r"(?i)\b(?:bearer|token)\s+(" + _NOT_PLACEHOLDER + r"[A-Za-z0-9._~+/-]{16,}=*)"),
        lambda value: bool(re.search(r"[0-9]", value)),
    ),
    Detector(
        "basic-auth",
        re.compile(
            r"(?i)\bauthorization:\s*basic\s+(" + _NOT_PLACEHOLDER + r"[A-Za-z0-9+/]{8,}=*)"
        ),
    ),
    # KEY=value / key: "value" / "key": "value" / --password=value for secret names.
    # A value must look like a secret, not like code or prose: no interpolation
    # (``{x}``, ``$X``), not a plain word or CONSTANT_NAME, not a call or attribute
    # (``f(token=token)``, ``password = self.password``), not a number.
    Detector(
        "secret-assignment",
        re.compile(
            r"(?i)" + _SECRET_NAME + r"[\"']?\]?\s*(?::=|=>|[:=])\s*"
            r"(?:\"("
            + _NOT_PLACEHOLDER
            + r"[^\"\s]{3,}+)\"|'("
            + _NOT_PLACEHOLDER
            + r"[^'\s]{3,}+)')"
        ),
        _looks_secret,
    ),
    Detector(
        "secret-assignment",
        re.compile(
            r"(?i)(?:password|passwd|passphrase|pwd)[A-Za-z0-9_.-]{0,64}+"
            r"[\"']?\]?\s*(?::=|=>|[:=])\s*(?:\"("
            + _NOT_PLACEHOLDER
            + r"[^\"\n{}()]{3,64})\"|'("
            + _NOT_PLACEHOLDER
            + r"[^'\n{}()]{3,64})')"
        ),
    ),
    Detector(
        "secret-assignment",
        re.compile(
            r"(?:(?:PASSWORD|PASSWD|PASSPHRASE|PWD|SECRET|TOKEN|API_?KEY"
            r"|ACCESS_?KEY|PRIVATE_?KEY|CREDENTIALS?|AUTH_?KEY)[A-Z0-9_]{0,64}+)=("
            + _NOT_PLACEHOLDER
            + r"(?![{$])(?![a-z_][A-Za-z0-9_]*[.(\[])[^\s\"'`;&|,)]{3,})"
        ),
    ),
    Detector(
        "secret-assignment",
        re.compile(
            r"(?i)"
            + _SECRET_NAME
            + r"\s*(?:=|:)\s*("
            + _NOT_PLACEHOLDER
            + r"(?![{$])(?=[^\s\"'`;,)(]{0,256}[A-Za-z])(?=[^\s\"'`;,)(]{0,256}[0-9!@#%^*~+/])"
            r"(?![A-Za-z_][A-Za-z0-9_]*[.(\[])[^\s\"'`;,)(<>]{4,})"
        ),
    ),
    Detector(
        "secret-assignment",
        re.compile(
            r"(?im)(?:^|;)\s*(?:password|pwd|passwd)=(" + _NOT_PLACEHOLDER + r"[^;\s\"']++)(?=;|$)"
        ),
    ),
    # Random-looking strings assigned to anything.
    Detector(
        "high-entropy-string",
        re.compile(r"(?:[:=]|=>)\s*[\"'`](" + _NOT_PLACEHOLDER + r"[A-Za-z0-9+/=_-]{20,})[\"'`]"),
        high_entropy,
    ),
    Detector(
        "high-entropy-string",
        re.compile(
            r"\b[A-Z][A-Z0-9_]*+=(" + _NOT_PLACEHOLDER + r"[A-Za-z0-9+/=_.-]{20,}+)(?![^\s;&|])"
        ),
        high_entropy,
    ),
]

EMAIL = Detector(
    "email",
    re.compile(
        r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b"
    ),
)
HOME_USER = Detector(
    "user",
    re.compile(
        r"(?:(?<=/home/)|(?<=/Users/)|(?<=\\Users\\)|(?<=\\\\Users\\\\))"
        + _NOT_PLACEHOLDER
        + r"([A-Za-z0-9._-]+)(?=[/\\]|\b)"
    ),
)

# --- detect-secrets' plugins ------------------------------------------------------------

_SKIPPED_PLUGINS = {
    "PrivateKeyDetector",  # BEGIN line only; ours takes the whole block
    "BasicAuthDetector",  # ours labels databases apart and never reads into a placeholder
    "JwtTokenDetector",  # lazy end: would leave the signature
    "IPPublicDetector",  # an address is not a secret
    "ArtifactoryDetector",  # "AP[0-9A-F]…" matches identifiers (APDUHandler)
}


def plugin_detectors() -> list[Detector]:
    """One detector per regex of every detect-secrets ``RegexBasedPlugin``.

    Without detect-secrets installed the recorder still redacts with
    :data:`PROVIDER_DETECTORS` and :data:`GENERIC_DETECTORS` and says so once.
    """
    try:
        from detect_secrets.core.plugins.util import get_mapping_from_secret_type_to_class
    except ImportError:  # pragma: no cover - an install without the dependency
        sys.stderr.write(
            "prtrace: detect-secrets is not installed; using built-in detectors only\n"
        )
        return []
    found: list[Detector] = []
    plugins: dict[str, Any] = get_mapping_from_secret_type_to_class()
    for secret_type in sorted(plugins):
        cls = plugins[secret_type]
        if cls.__name__ in _SKIPPED_PLUGINS:
            continue
        for regex in getattr(cls, "denylist", ()) or ():
            found.append(Detector(slug(secret_type), regex))
    return found


def secret_detectors() -> list[Detector]:
    """Typed shapes first (ours, then the plugins'), then the generic rules, so a
    value gets the most precise label (``aws-access-key``, not ``secret-assignment``)."""
    return [
        anchored(gated(d)) for d in (*PROVIDER_DETECTORS, *plugin_detectors(), *GENERIC_DETECTORS)
    ]


GATES: dict[str, tuple[str, ...]] = {
    "private-key": ("private key",),
    "putty-private-key": ("putty",),
    "anthropic-api-key": ("sk-ant-",),
    "openai-api-key": ("sk-",),
    "openai-token": ("t3blbkfj",),
    "github-token": ("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"),
    "google-api-key": ("aiza",),
    "google-oauth-token": ("ya29.",),
    "stripe-key": ("_live_", "_test_"),
    "stripe-access-key": ("_live_",),
    "stripe-webhook-secret": ("whsec_",),
    "npm-token": ("npm_",),
    "npm-tokens": ("_authtoken",),
    "pypi-token": ("pypi-",),
    "vault-token": ("hvs.", "hvb.", "hvr."),
    "digitalocean-token": ("_v1_",),
    "shopify-token": ("shpat_", "shpss_", "shpca_", "shppa_"),
    "huggingface-token": ("hf_",),
    "gitlab-token": ("gl", "gr1348941"),
    "slack-token": ("xox", "hooks.slack.com"),
    "prtrace-token": ("pta_", "ptu_"),
    "jwt": ("eyj",),
    "connection-string": ("://",),
    "url-password": ("://",),
    "aws-secret-key": ("aws",),
    "aws-access-key": ("akia", "asia", "abia", "acca", "a3t", "aws"),
    "azure-storage-account-access-key": ("accountkey",),
    "bearer-token": ("bearer", "token"),
    "basic-auth": ("basic",),
    "secret-assignment": (
        "pass",
        "pwd",
        "secret",
        "token",
        "key",
        "cred",
        "auth",
        "cookie",
        "session",
    ),
    "mailchimp-access-key": ("-us",),
    "sendgrid-api-key": ("sg.",),
    "square-oauth-secret": ("sq0csp-",),
    "ibm-cloud-iam-key": ("iam",),
    # softlayer-credentials, cloudant-credentials: none; their anchors (whole names, a
    # checked URL) are stricter than ``sl`` or ``key`` anywhere in the text was.
    "email": ("@",),
    "user": ("/home/", "/users/", "\\users\\"),
}
"""Literals (lower case) one of which each detector's matches contain; see Detector.gate."""


PRECHECK_LITERALS = ("passw", "passp", "pwd", "secret", "token", "key", "cred", "auth", "bearer")
"""Secret names a short value can follow (``password=hunter2``): with a run of 20+
token characters (every provider token, key block line, JWT, high-entropy value) and
``://`` (passwords in URLs), a superset of what any secret detector needs. They are
looked for only where an assignment can be (``=`` or ``: `` in the text): the
assignment rules need one, and so do ``Authorization: Bearer``/``Basic`` headers."""
ASSIGNMENT_MARKS = (b"=", b": ", b"://")


def gated(detector: Detector) -> Detector:
    gate = GATES.get(detector.label, ())
    return detector if detector.gate or not gate else replace(detector, gate=gate)


# --- anchors: where each detector's matches can start ----------------------------------

_TOKEN = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=_-"
CLASS_TABLE = bytes(
    97 if c in _TOKEN else 113 if c in b"\"'`" else c if c in b".:" else 32 for c in range(256)
)
"""The ``cls`` view: token characters → ``a``, quotes → ``q``, ``.`` and ``:`` kept,
anything else → space (one ``bytes.translate``)."""


def _a(*needles: str, view: str = "raw", lo: int = 0, hi: int | None = None) -> tuple[Anchor, ...]:
    return tuple(Anchor(n, view, lo, lo if hi is None else hi) for n in needles)


_ENV_VALUE = re.compile(rb".=[A-Za-z0-9+/=_.-]{20}")


def _env_value(data: bytes, start: int, end: int) -> bool:
    """``NAME=`` needs 20 value characters after it (high-entropy-string's rule)."""
    return _ENV_VALUE.match(data, start) is not None


_WS = rb"(?:[ \t\n\r\f\v\x1c-\x1f\x80-\xff]|\\[ntrfvb]|\\u[0-9a-fA-F]{4})*+\\?\Z"
_ASSIGNED = re.compile(rb"[:=>]" + _WS)
_ALL_SPACE = re.compile(_WS)
_BACK = 32
"""How far back the check looks: further white space is rare, and then it says yes."""


def _after_assignment(data: bytes, start: int, end: int) -> bool:
    """A quoted value must follow ``:``, ``=`` or ``=>`` over white space (any of
    Python's, so any non-ASCII byte too); in JSON the quote may be escaped (``\\"``)
    and the white space too (``\\n``, ``\\u2028``)."""
    lo = max(0, start - _BACK)
    window = data[lo:start]
    if _ASSIGNED.search(window):
        return True
    return lo > 0 and _ALL_SPACE.match(window) is not None  # cannot tell: yes


def _digits_before(data: bytes, start: int, end: int) -> bool:
    """Telegram's ``digits:`` + 35: at least 8 digits before the colon."""
    return start >= 8 and data[start - 8 : start].isdigit()


def _words(prefixes: tuple[str, ...], *parts: tuple[str, ...]) -> tuple[str, ...]:
    """Every concatenation of one prefix and one choice of each part (a plugin's
    ``(?:a|b)(?:_|-|)…`` name spelled out as literals)."""
    out = list(prefixes)
    for choices in parts:
        out = [w + c for w in out for c in choices]
    return tuple(sorted(set(out)))


_SEP = ("_", "-", "")
_CLOUDANT_NAMES = _words(
    ("cloudant", "cl", "clou"), _SEP, ("api", ""), ("key", "pwd", "pw", "pass", "token")
)
_SOFTLAYER_NAMES = _words(
    ("softlayer", "sl"), _SEP, ("api", ""), _SEP, ("key", "pwd", "pass", "token")
)
_GITLAB_PREFIXES = tuple(
    f"gl{kind}-" for kind in ("pat", "dt", "ft", "soat", "rt", "cbt", "ptt", "agent", "imt", "oas")
)


def _ahead(pattern: bytes) -> Callable[[bytes, int, int], bool]:
    """A verify: ``pattern`` (a necessary part of the rule, written for the text and
    its JSON encoding alike) must match at the literal."""
    regex = re.compile(pattern)

    def verify(data: bytes, start: int, end: int) -> bool:
        return regex.match(data, start) is not None

    return verify


_JSON_WS = rb"(?:\s|\\[ntrfvb]|\\u[0-9a-fA-F]{4}|[\x80-\xff\x1c-\x1f])"
_KEY_SEP = ("_", ".", "-", "")
_SECRET_WORDS = (
    ("pass", "pwd", "secret", "token", "credential")
    + _words(("api", "access", "private", "auth", "signing", "encryption", "session"), _KEY_SEP, ("key",))
    + _words(("client", "cookie"), _KEY_SEP, ("secret",))
)  # fmt: skip
"""Every name in :data:`_SECRET_NAME` (and its upper-case twin) begins with one of these:
``auth`` alone would stop at every ``Author:`` of ``git log``, ``session`` at every
``session_id``."""

_URL_START = (
    Anchor("://", "low", back="scheme", verify=_ahead(rb"://[^\s:/@'\"<>]+:[^\s/@'\"<>]+@")),
)
"""URL passwords start at the scheme, walked back to from ``://``; only a URL with
``user:password@`` is a try."""
_CLOUDANT_URL = (
    Anchor(
        "://", "low", back="scheme",
        verify=_ahead(rb"://[^\s:/@]+:[0-9a-z]{24,64}@[^\s/@]+?\.cloudant\.com"),
    ),
)  # fmt: skip
_SOFTLAYER_URL = (
    Anchor("://", "low", back="scheme", verify=_ahead(rb"://api.softlayer.com/soap/")),
)

ANCHORS: dict[str, tuple[Anchor, ...]] = {
    "private-key": _a("-----BEGIN "),
    "putty-private-key": _a("PuTTY-User-Key-File-"),
    "anthropic-api-key": _a("sk-ant-"),
    "openai-api-key": _a("sk-"),
    "openai-token": _a("sk-"),
    "github-token": _a("github_pat_", "ghp_", "gho_", "ghu_", "ghs_", "ghr_"),
    "google-api-key": _a("AIza"),
    "google-oauth-token": _a("ya29."),
    "stripe-key": tuple(  # (?:sk|rk|pk)_live_
        Anchor(n, lo=2, hi=2, verify=_ahead(rb"_(?:live|test)_[0-9a-zA-Z]{16}"))
        for n in ("_live_", "_test_")
    ),
    "stripe-access-key": (
        Anchor("k_live_", lo=1, hi=1, verify=_ahead(rb"k_live_[0-9a-zA-Z]{24}")),
    ),
    "stripe-webhook-secret": _a("whsec_"),
    "npm-token": _a("npm_"),
    "npm-tokens": _a("//"),
    "pypi-token": (Anchor("pypi-", verify=_ahead(rb"pypi-[A-Za-z0-9_-]{50}")),),
    "vault-token": _a("hvs.", "hvb.", "hvr."),
    "digitalocean-token": _a("_v1_", lo=3),  # dop_v1_
    "shopify-token": _a("shp"),
    "huggingface-token": _a("hf_"),
    "gitlab-token": _a(*_GITLAB_PREFIXES, "GR1348941"),
    "slack-token": (Anchor("xox", "low", verify=_ahead(rb"xox[a-z]-")),)
    + _a("https://hooks.slack.com", view="low"),
    "prtrace-token": _a("pta_", "ptu_"),
    "jwt": _a("eyJ"),
    "aws-access-key": _a("A3T", "ABIA", "ACCA", "AKIA", "ASIA")
    + (Anchor("aws", "low", verify=_ahead(rb"(?is)aws.{0,120}?(?:key|pw|pass|token)")),),
    "azure-storage-account-access-key": _a("AccountKey="),
    # [ and a quote may come first: (?:\[|)(?:"|'|)(?:cloudant|cl|clou)
    # (case-sensitive names; the URL rules start at their scheme)
    "cloudant-credentials": _a(*_CLOUDANT_NAMES, lo=0, hi=2) + _CLOUDANT_URL,
    # [MNO] + 23-25 token characters, a dot, 6 of them, a dot: the first dot is 24-26
    # after the start. (Every ``cls`` literal starts with a rare byte: q, : or .)
    "discord-bot-token": (
        Anchor(
            "." + "a" * 6 + ".",
            "cls",
            24,
            26,
            verify=_ahead(rb"\.[a-zA-Z0-9_-]{6}\.[a-zA-Z0-9_-]{27}"),
        ),
    ),  # fmt: skip
    # [ " ibm - cos - hmac _ (15 at most) before "secret"
    "ibm-cos-hmac-credentials": (
        Anchor("secret", "low", 0, 15, verify=_ahead(rb"(?i)secret[-_]?(?:access)?[-_]?key")),
    ),
    # [ " ibm_cloud_iam _ api _ (20 at most) before the key word
    "ibm-cloud-iam-key": _a("key", "pwd", "pass", "token", view="low", lo=0, hi=20),
    "mailchimp-access-key": _a("-us", lo=32),
    "sendgrid-api-key": _a("SG."),
    "softlayer-credentials": _a(*_SOFTLAYER_NAMES, lo=0, hi=2) + _SOFTLAYER_URL,
    "square-oauth-secret": _a("sq0csp-"),
    # 8-10 digits, a colon, 35 token characters
    "telegram-bot-token": (Anchor(":" + "a" * 35, "cls", 8, 10, verify=_digits_before),),
    "twilio-api-key": tuple(Anchor(n, verify=_ahead(rb"..[a-z0-9]{32}")) for n in ("AC", "SK")),
    "connection-string": _a(
        "postgres",
        "mysql",
        "mariadb",
        "mongodb",
        "redis",
        "amqp",
        "mssql",
        "sqlserver",
        "oracle",
        "clickhouse",
        "cockroachdb",
        view="low",
    ),  # fmt: skip
    "url-password": _URL_START,
    "aws-secret-key": (Anchor("aws", "low", verify=_ahead(rb"(?is)aws.{0,120}?(?:secret|sk)")),),
    "bearer-token": tuple(
        Anchor(n, "low", verify=_ahead(rb"(?i)[a-z]+" + _JSON_WS + rb"+[A-Za-z0-9._~+/-]{16}"))
        for n in ("bearer", "token")
    ),
    "basic-auth": _a("authorization", view="low"),
    "secret-assignment": tuple(Anchor(w, "low", mark=True) for w in _SECRET_WORDS)
    + (Anchor("pass", "low", back="line", mark=True), Anchor("pwd", "low", back="line", mark=True)),
    "high-entropy-string": (Anchor("q" + "a" * 20, "cls", back="mark", verify=_after_assignment),)
    + tuple(
        Anchor(c + "=", "raw", back="envname", verify=_env_value)
        for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_"
    ),
    "email": (Anchor("@", "raw", back="local"),),
    "user": _a("/home/", lo=-6)
    + _a("/users/", "\\users\\", view="low", lo=-7)
    + _a("\\\\users\\\\", view="low", lo=-9),
}
"""Every built-in and detect-secrets detector, by label (the union over its regexes):
each of its matches starts at one of the starts its anchors give. A plugin added by a
later detect-secrets has none and is run over the whole text until it gets a row here;
tests/unit/test_redaction_linear.py checks that every detector has one."""


def anchored(detector: Detector) -> Detector:
    if detector.anchors is not None:
        return detector
    found = ANCHORS.get(detector.label)
    return detector if found is None else replace(detector, anchors=found)
