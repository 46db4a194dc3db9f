"""Export's progress bar (``prtrace trace export`` to a file): it counts what flows and
draws nothing off a terminal (export itself is in tests/integration/test_research_export.py)."""

from __future__ import annotations


def test_progress_bar_counts_what_flows() -> None:
    import io

    from rich.console import Console

    from prtrace.cli.progress import counted

    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=True, width=120)
    items = [b"a" * 10] * 7
    with counted(iter(items), "exporting traces", console=console) as flowing:
        assert list(flowing) == items
    screen = buffer.getvalue()
    assert "exporting traces" in screen and "7 · 77 bytes" in screen
    # Not a terminal and no console: the items pass untouched, nothing is drawn.
    with counted(iter(items), "x", enabled=True) as flowing:
        assert list(flowing) == items
