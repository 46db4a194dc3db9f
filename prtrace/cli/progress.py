"""A progress bar on stderr for long streams (``prtrace trace export``).

The export's length is not known up front (it streams), so the bar pulses and
counts items and bytes as they pass. It is drawn only when stderr is a
terminal, so pipes and logs get no control codes; rich is imported only here,
and only when a bar is drawn, so ``prtrace`` starts fast without it.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterable, Iterator
from typing import Any


@contextlib.contextmanager
def counted(
    items: Iterable[bytes],
    description: str,
    *,
    enabled: bool = True,
    console: Any = None,
) -> Iterator[Iterator[bytes]]:
    """``items`` passed through unchanged, counted on a live bar while they flow.

    ``console`` (a ``rich.console.Console``) is for tests; by default the bar goes
    to stderr when that is a terminal.
    """
    if console is None and not (enabled and sys.stderr.isatty()):
        yield iter(items)
        return
    try:
        from rich.console import Console
        from rich.filesize import decimal
        from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
    except ImportError:  # the core install has no rich: no bar, same output
        yield iter(items)
        return
    progress = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),  # pulses: the total is unknown
        TextColumn("{task.completed:.0f} · {task.fields[size]}"),
        TimeElapsedColumn(),
        console=console or Console(stderr=True),
        transient=console is None,
    )

    def flow(task: Any) -> Iterator[bytes]:
        size = 0
        for item in items:
            size += len(item) + 1
            progress.update(task, advance=1, size=decimal(size))
            yield item

    with progress:
        task = progress.add_task(description, total=None, size=decimal(0))
        yield flow(task)
