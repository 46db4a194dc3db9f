"""``prtrace demo`` uploads its session in batches: how it cuts them (the demo itself
is in tests/e2e/test_demo_cli.py)."""

from __future__ import annotations

from prtrace.cli.demo import split_batches


def test_split_batches_keeps_order_and_covers_everything() -> None:
    items = list(range(10))
    parts = split_batches(items, 3)
    assert [len(part) for part in parts] == [4, 3, 3]
    assert [x for part in parts for x in part] == items
    assert split_batches([1, 2], 5) == [[1], [2]]
