"""prtrace: record how a developer fixes a bug, and verify it.

The top-level package holds what every part speaks: the trace format
(:mod:`prtrace.events`, :mod:`prtrace.trace`), the API messages
(:mod:`prtrace.api_types`), configuration (:mod:`prtrace.config`), the HTTP
client (:mod:`prtrace.client`) and the ``prtrace`` CLI (:mod:`prtrace.cli`).
"""

__version__ = "0.1.0"
"""The package version: pyproject.toml reads it from here (``dynamic = ["version"]``)."""
TRACE_FORMAT_VERSION = "prtrace-2.0.0"
"""prtrace's own format (docs/trace-format.md, "Versioning"); the seed's is ``trace-1.0.0``."""
