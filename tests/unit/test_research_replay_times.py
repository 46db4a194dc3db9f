"""``prtrace replay --at``: the time forms it takes (replay itself is in
tests/integration/test_research_replay.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

START = datetime(2024, 2, 1, 10, 0, tzinfo=UTC)


def test_time_offsets_parse() -> None:
    from prtrace.cli.replay import parse_at

    assert parse_at("+90s", START) == START + timedelta(seconds=90)
    assert parse_at("+1.5m", START) == START + timedelta(seconds=90)
    assert parse_at("2024-02-01T10:00:05Z", START) == START + timedelta(seconds=5)
