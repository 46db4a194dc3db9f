"""Writing a table as JSON lines and parquet at once, in constant memory.

Each split of a table has one ``.jsonl`` file, written row by row, and one
``.parquet`` file, written by a ``pyarrow.parquet.ParquetWriter`` one row
group at a time: rows are held only until a group is full (``batch_rows``
rows or ``batch_bytes`` of JSON, whichever comes first), so memory stays flat
however many traces the build reads.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec

from prtrace.datasets.features import Spec, arrow_schema, conform
from prtrace.errors import PrtraceError

_encode = msgspec.json.Encoder().encode

BATCH_ROWS = 256
BATCH_BYTES = 16 * 1024 * 1024


def _pyarrow() -> Any:
    try:
        import pyarrow
        import pyarrow.parquet
    except ImportError:
        raise PrtraceError(
            "writing parquet needs pyarrow: pip install 'prtrace[datasets]'"
        ) from None
    return pyarrow


@dataclass
class _Split:
    jsonl: Any
    parquet: Any
    rows: list[dict[str, Any]] = field(default_factory=list)
    held: int = 0
    count: int = 0
    json_bytes: int = 0


class TableWriter:
    """``folder/<split>.jsonl`` and ``folder/<split>.parquet`` for one table."""

    def __init__(
        self,
        folder: Path,
        spec: Spec,
        *,
        parquet: bool = True,
        batch_rows: int = BATCH_ROWS,
        batch_bytes: int = BATCH_BYTES,
    ) -> None:
        self.folder = folder
        self.spec = spec
        self.parquet = parquet
        self.batch_rows = batch_rows
        self.batch_bytes = batch_bytes
        self.schema = arrow_schema(spec) if parquet else None
        self.splits: dict[str, _Split] = {}
        if parquet:
            _pyarrow()

    def _split(self, name: str) -> _Split:
        split = self.splits.get(name)
        if split is None:
            self.folder.mkdir(parents=True, exist_ok=True)
            writer = None
            if self.parquet:
                pq = _pyarrow().parquet
                writer = pq.ParquetWriter(
                    str(self.folder / f"{name}.parquet"), self.schema, compression="zstd"
                )
            jsonl = open(self.folder / f"{name}.jsonl", "wb")  # noqa: SIM115 - closed in close()
            split = _Split(jsonl, writer)
            self.splits[name] = split
        return split

    def write(self, split_name: str, row: dict[str, Any]) -> None:
        split = self._split(split_name)
        row = conform(row, self.spec)
        line = _encode(row)
        split.jsonl.write(line)
        split.jsonl.write(b"\n")
        split.count += 1
        split.json_bytes += len(line) + 1
        if split.parquet is not None:
            split.rows.append(row)
            split.held += len(line)
            if len(split.rows) >= self.batch_rows or split.held >= self.batch_bytes:
                self._flush(split)

    def _flush(self, split: _Split) -> None:
        if split.rows and split.parquet is not None:
            table = _pyarrow().Table.from_pylist(split.rows, schema=self.schema)
            split.parquet.write_table(table)
        split.rows, split.held = [], 0

    def close(self) -> dict[str, dict[str, int]]:
        """Flush and close every file; ``{split: {"rows": n, "bytes": jsonl bytes}}``."""
        out: dict[str, dict[str, int]] = {}
        for name, split in self.splits.items():
            self._flush(split)
            split.jsonl.close()
            if split.parquet is not None:
                split.parquet.close()
            out[name] = {"rows": split.count, "bytes": split.json_bytes}
        return out

    def abort(self) -> None:
        for split in self.splits.values():
            split.jsonl.close()
            if split.parquet is not None:
                split.parquet.close()
