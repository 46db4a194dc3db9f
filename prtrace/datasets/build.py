"""From trace documents to a Hugging Face dataset folder (``prtrace dataset build``).

:func:`rows_for` is the one place a trace document becomes rows — an
instance, a prediction and a trajectory, privacy-checked — used by
:class:`DatasetBuilder` (the CLI's folder) and by ``GET /export?format=…``
(:func:`export_line`), so both give the same rows. The builder takes documents
one at a time (JSON bytes, as ``GET /export`` streams them) and holds only one
parquet row group per table and split, so memory stays flat.

The folder::

    OUT/README.md                      the dataset card
    OUT/instances/<split>.{jsonl,parquet}
    OUT/trajectories/<split>.{jsonl,parquet}
    OUT/predictions/<split>.jsonl

It is written under ``OUT.partial`` and renamed when complete: a failed build
(a refused secret, a lost connection) leaves no half dataset behind.
"""

from __future__ import annotations

import shutil
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import msgspec

from prtrace.datasets.card import card_header, render_card
from prtrace.datasets.features import PREDICTION_SPEC, TRAJECTORY_SPEC, conform, instance_spec
from prtrace.datasets.instances import developer_name, instance_row, prediction_row
from prtrace.datasets.privacy import check_row
from prtrace.datasets.splits import DEFAULT_SPLITS, split_of
from prtrace.datasets.trajectory import trajectory_row
from prtrace.datasets.writer import BATCH_BYTES, BATCH_ROWS, TableWriter
from prtrace.errors import PrtraceError, UsageError

_decode = msgspec.json.Decoder().decode
_encode = msgspec.json.Encoder().encode

ExportFormat = Literal["swebench", "trajectory", "predictions"]
EXPORT_FORMATS: tuple[str, ...] = ("swebench", "trajectory", "predictions")


@dataclass
class BuildOptions:
    swebench_strings: bool = False
    """FAIL_TO_PASS / PASS_TO_PASS as JSON strings (the original dataset's convention)."""
    hash_names: bool = False
    """Developers as ``h-<sha256 prefix>`` in predictions and rows."""
    splits: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_SPLITS))
    license_id: str = "other"
    pretty_name: str = "prtrace verified human traces"
    parquet: bool = True
    batch_rows: int = BATCH_ROWS
    batch_bytes: int = BATCH_BYTES


@dataclass
class Rows:
    instance: dict[str, Any]
    prediction: dict[str, Any]
    trajectory: dict[str, Any]


def rows_for(doc: dict[str, Any], options: BuildOptions, *, fix: bool = False) -> Rows:
    """A trace document's three rows, every string checked by the redactor (see
    :mod:`.privacy`; ``fix`` redacts instead of refusing)."""
    instance = instance_row(doc, swebench_strings=options.swebench_strings)
    trajectory = trajectory_row(doc, instance["instance_id"], instance["problem_statement"])
    if options.hash_names:
        hashed = developer_name(doc, hash_names=True).removeprefix("human:")
        instance["developer"] = hashed
        extra = msgspec.json.decode(trajectory["extra"])
        extra["developer"] = hashed
        trajectory["extra"] = _encode(extra).decode()
    trace_id = str(doc.get("trace_id"))
    check_row(instance, trace_id, "instances", fix=fix)
    check_row(trajectory, trace_id, "trajectories", fix=fix)
    prediction = prediction_row(doc, instance, hash_names=options.hash_names)
    check_row(prediction, trace_id, "predictions", fix=fix)
    return Rows(instance, prediction, trajectory)


def export_line(document: bytes, fmt: str, options: BuildOptions) -> bytes:
    """One JSON line of ``GET /export?format=fmt`` for one stored trace document."""
    rows = rows_for(_decode(document), options, fix=True)
    if fmt == "swebench":
        row = conform(rows.instance, instance_spec(swebench_strings=options.swebench_strings))
    elif fmt == "trajectory":
        row = conform(rows.trajectory, TRAJECTORY_SPEC)
    elif fmt == "predictions":
        row = rows.prediction
    else:
        raise UsageError(f"format must be one of {', '.join(EXPORT_FORMATS)}, not {fmt!r}")
    return _encode(row)


@dataclass
class BuildReport:
    out: Path
    traces: int
    tasks: int
    splits: dict[str, dict[str, dict[str, int]]]
    verdicts: dict[str, int]


class DatasetBuilder:
    """Feed it trace documents (:meth:`add`), then :meth:`close` for the folder."""

    def __init__(
        self,
        out: Path,
        options: BuildOptions | None = None,
        *,
        filters: dict[str, Any] | None = None,
        overwrite: bool = False,
    ) -> None:
        self.out = Path(out)
        self.options = options or BuildOptions()
        self.filters = filters or {}
        if self.out.exists() and any(self.out.iterdir()) and not overwrite:
            raise UsageError(f"{self.out} exists and is not empty (use --force to replace it)")
        self.partial = self.out.with_name(self.out.name + ".partial")
        if self.partial.exists():
            shutil.rmtree(self.partial)
        self.partial.mkdir(parents=True)
        opts = self.options
        self.instance_spec = instance_spec(swebench_strings=opts.swebench_strings)
        sizes = {"batch_rows": opts.batch_rows, "batch_bytes": opts.batch_bytes}
        self.tables = {
            "instances": TableWriter(
                self.partial / "instances", self.instance_spec, parquet=opts.parquet, **sizes
            ),
            "trajectories": TableWriter(
                self.partial / "trajectories", TRAJECTORY_SPEC, parquet=opts.parquet, **sizes
            ),
            "predictions": TableWriter(
                self.partial / "predictions", PREDICTION_SPEC, parquet=False, **sizes
            ),
        }
        self.verdicts: Counter[str] = Counter()
        self.tasks: set[str] = set()
        self.count = 0

    def add(self, document: bytes | dict[str, Any]) -> None:
        doc = _decode(document) if isinstance(document, (bytes, bytearray)) else document
        rows = rows_for(doc, self.options)
        split = split_of(rows.instance["instance_id"], self.options.splits)
        self.tables["instances"].write(split, rows.instance)
        self.tables["trajectories"].write(split, rows.trajectory)
        self.tables["predictions"].write(split, rows.prediction)
        self.verdicts[rows.instance["verdict"] or "none"] += 1
        self.tasks.add(rows.instance["instance_id"])
        self.count += 1

    def add_all(self, documents: Iterable[bytes | dict[str, Any]]) -> None:
        for document in documents:
            self.add(document)

    def close(self) -> BuildReport:
        splits = {name: table.close() for name, table in self.tables.items()}
        specs = {
            "instances": self.instance_spec,
            "trajectories": TRAJECTORY_SPEC,
            "predictions": PREDICTION_SPEC,
        }
        header = card_header(
            specs,
            splits,
            license_id=self.options.license_id,
            pretty_name=self.options.pretty_name,
        )
        card = render_card(
            header,
            filters=self.filters,
            verdicts=dict(self.verdicts),
            shares=self.options.splits,
            swebench_strings=self.options.swebench_strings,
        )
        (self.partial / "README.md").write_text(card, encoding="utf-8")
        if self.out.exists():
            shutil.rmtree(self.out)
        self.partial.rename(self.out)
        return BuildReport(self.out, self.count, len(self.tasks), splits, dict(self.verdicts))

    def abort(self) -> None:
        for table in self.tables.values():
            table.abort()
        shutil.rmtree(self.partial, ignore_errors=True)


def build_dataset(
    documents: Iterable[bytes | dict[str, Any]],
    out: Path,
    options: BuildOptions | None = None,
    *,
    filters: dict[str, Any] | None = None,
    overwrite: bool = False,
) -> BuildReport:
    """Write the dataset folder from ``documents``; nothing is left behind on failure."""
    builder = DatasetBuilder(out, options, filters=filters, overwrite=overwrite)
    try:
        builder.add_all(documents)
    except BaseException:
        builder.abort()
        raise
    return builder.close()


def require_pyarrow() -> None:
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        raise PrtraceError(
            "building a dataset needs pyarrow: pip install 'prtrace[datasets]'"
        ) from None
