"""Secrets out of what the judge sees.

The judge uses the same redaction as the recorder and the backend
(:mod:`prtrace.redaction`, docs/privacy.md): typed placeholders such as
``<redacted:aws-access-key>``, so the judge still sees that a secret was
handled — which the rubric's safety/privacy dimension asks about — without
seeing it. Traces are already redacted when recorded and again at ingest;
this is the last net before anything is sent to a model.
"""

from __future__ import annotations

from prtrace.redaction import redact

__all__ = ["redact"]
