"""docs/trace-format.md stays true: every event type and field is documented."""

from __future__ import annotations

import re
from pathlib import Path

from prtrace.events import EVENT_TYPES, _Event

DOC = (Path(__file__).resolve().parents[2] / "docs" / "trace-format.md").read_text()


def documented_rows() -> dict[str, str]:
    rows = {}
    for line in DOC.splitlines():
        match = re.match(r"^\| `([a-z_]+)` \| (.*) \|$", line)
        if match:
            rows[match.group(1)] = match.group(2)
    return rows


def test_every_event_type_has_a_row_naming_all_its_fields() -> None:
    rows = documented_rows()
    common = set(_Event.__struct_fields__)
    for tag, cls in EVENT_TYPES.items():
        assert tag in rows, f"event type {tag} missing from docs/trace-format.md"
        named = set(re.findall(r"`([a-z_]+)`", rows[tag]))
        missing = set(cls.__struct_fields__) - common - named
        assert not missing, f"{tag}: fields {sorted(missing)} not documented"


def test_no_documented_type_that_does_not_exist() -> None:
    event_rows = {k for k, v in documented_rows().items() if "path" in v or k in EVENT_TYPES}
    assert event_rows <= set(EVENT_TYPES) | {
        "trace_id",
        "status",
        "developer",
        "task",
        "environment",
        "artifacts",
        "qa",
        "id",
        "t",
        "session_id",
        "source",
    }
