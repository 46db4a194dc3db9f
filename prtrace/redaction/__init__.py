"""Redaction of secrets and personal data, shared by the recorder, the backend and the judge.

* :mod:`.detectors` — what a secret looks like (detect-secrets' plugins + our shapes);
* :mod:`.engine` — :class:`Redactor`: text → text with ``<redacted:type>`` placeholders;
* :mod:`.events` — the same over an event, as an object or as stored JSON bytes;
* :mod:`.config` — the ``[privacy]`` rules of the user and of the repository.

See docs/privacy.md.
"""

from prtrace.redaction.config import MARKER_FILE, PrivacyConfig, load_privacy_config
from prtrace.redaction.engine import Redactor, default_redactor, redact
from prtrace.redaction.events import (
    redact_builtins,
    redact_event_json,
    redact_events_json,
    redact_struct,
)

__all__ = [
    "MARKER_FILE",
    "PrivacyConfig",
    "Redactor",
    "default_redactor",
    "load_privacy_config",
    "redact",
    "redact_builtins",
    "redact_event_json",
    "redact_events_json",
    "redact_struct",
]
