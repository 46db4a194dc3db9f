"""The redactor again, on every string of every row on its way out.

Traces are redacted when recorded and again when the server stores them;
a dataset is the last door. :func:`check_row` runs the server's redactor
(:func:`prtrace.redaction.default_redactor`) over each string of a row and
raises :class:`DatasetPrivacyError`, naming the trace and the field, if any
detector still fires — a newer detector, a rule the recorder lacked. With
``fix=True`` (``GET /export?format=…``, which cannot refuse halfway through a
stream) the string is redacted in place instead.

Structure is not content: ids, hashes, commits and times are left alone, as
:data:`prtrace.redaction.events.STRUCTURAL_KEYS` leaves them alone at ingest
(a 40-hex commit is not a secret). ``arguments`` and ``extra`` hold JSON: they
are decoded and walked with their own keys, so an event's hashes inside them
stay structure too.
"""

from __future__ import annotations

import json
from typing import Any

from prtrace.errors import PrtraceError
from prtrace.redaction import Redactor, default_redactor
from prtrace.redaction.events import STRUCTURAL_KEYS

STRUCTURE = STRUCTURAL_KEYS | {
    "instance_id",
    "trace_id",
    "base_commit",
    "environment_setup_commit",
    "sealed_at",
    "timestamp",
    "schema_version",
    "event_id",
    "event_type",
    "tool_call_id",
    "source_call_id",
    "function_name",
    "verdict",
    "status",
}
"""Columns and keys whose strings are identifiers, not text a secret could be in."""

JSON_TEXT = frozenset({"arguments", "extra"})


class DatasetPrivacyError(PrtraceError):
    """A detector fired on a string about to be written into a dataset."""


def check_row(
    row: dict[str, Any],
    trace_id: str,
    table: str,
    *,
    redactor: Redactor | None = None,
    fix: bool = False,
) -> dict[str, Any]:
    """``row`` unchanged when clean; refused (or with ``fix``, redacted) when not."""
    red = redactor or default_redactor()
    for key in list(row):
        row[key] = _walk(row[key], key, f"{table}.{key}", trace_id, red, fix)
    return row


def _walk(value: Any, key: str, where: str, trace_id: str, red: Redactor, fix: bool) -> Any:
    if isinstance(value, str):
        if key in STRUCTURE or not value:
            return value
        if key in JSON_TEXT:
            return _walk_json(value, where, trace_id, red, fix)
        if not red.suspicious(value):
            return value
        found = red.findings(value)
        if not found:
            return value
        if fix:
            return red.text(value)
        kinds = sorted({placeholder for _, placeholder in found})
        raise DatasetPrivacyError(
            f"trace {trace_id}: {where} still has {', '.join(kinds)} after redaction; "
            "the dataset was not written (fix the trace, or add an allowlist rule)"
        )
    if isinstance(value, dict):
        for k in list(value):
            value[k] = _walk(value[k], k, f"{where}.{k}", trace_id, red, fix)
        return value
    if isinstance(value, list):
        return [_walk(v, key, f"{where}[{i}]", trace_id, red, fix) for i, v in enumerate(value)]
    return value


def _walk_json(text: str, where: str, trace_id: str, red: Redactor, fix: bool) -> str:
    try:
        decoded = json.loads(text)
    except ValueError:
        return str(_walk(text, "", where, trace_id, red, fix))
    checked = _walk(decoded, "", where, trace_id, red, fix)
    if not fix:
        return text
    return json.dumps(checked, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
