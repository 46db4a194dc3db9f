"""Other dialects of the trace format, translated to and from prtrace's own.

prtrace stores and works on its own format (:mod:`prtrace.trace`,
:mod:`prtrace.events`). A dialect module translates another format's
documents and events into it on the way in, keeping what it takes to give
them back exactly as sent, and translates prtrace documents into that format
on the way out. :mod:`prtrace.dialects.seed` is the seed's ``trace-1.0.0``.
"""

from __future__ import annotations

DIALECTS = ("native", "seed")
"""What ``format=`` / ``--format`` / ``--dialect`` accept."""
