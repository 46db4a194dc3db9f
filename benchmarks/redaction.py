"""Redaction cost: per event at the recorder's choke point and at the server's ingest,
and per kilobyte of document text (what the LSP recorder redacts at each burst end).

    .venv/bin/python benchmarks/redaction.py [--events 20000] [--json]

* **server, clean**: ``redact_event_json`` on the ingest benchmark's event mix
  (benchmarks/ingest.py), none with a secret: the fast pre-check only;
* **server, with secrets**: the same events each carrying one planted secret of the
  corpus (decode, redact every string, re-encode);
* **recorder**: ``Privacy.encode`` (globs, redaction, encoding) on the same mix;
* **document**: ``Redactor.text`` on 100 KB of Python source and of pytest output.

Medians of 5 rounds, µs per event (per 100 KB for documents).
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import msgspec

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from ingest import make_event

from prtrace import events as ev
from prtrace.redaction import PrivacyConfig, Redactor, default_redactor, redact_event_json
from tests.support.privacy_corpus import planted_lines


def _per_item(fn, items, rounds: int = 5) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        for item in items:
            fn(item)
        times.append((time.perf_counter() - start) / len(items) * 1e6)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    redactor = default_redactor()  # what the server's ingest uses
    clean = [msgspec.json.encode(make_event(n)) for n in range(args.events)]
    lines = planted_lines()
    dirty = []
    for n, raw in enumerate(clean[: args.events // 4]):
        data = msgspec.json.decode(raw)
        key = {"edit": "patch_unified", "terminal_command": "stdout", "thought": "raw"}.get(
            data["type"]
        )
        if key is None:
            data["path"] = data["path"] + " " + lines[n % len(lines)]
        else:
            data[key] = data[key] + "\n" + lines[n % len(lines)] + "\n"
        dirty.append(msgspec.json.encode(data))
    assert all(redact_event_json(d, redactor) is not None for d in dirty)

    from prtrace.recorder.pipeline.privacy import Privacy

    with tempfile.TemporaryDirectory() as tmp:
        privacy = Privacy(Path(tmp), PrivacyConfig(require_opt_in=False))
        objects = [msgspec.json.decode(raw, type=ev.Event) for raw in clean]
        recorder_us = _per_item(privacy.encode, objects)
    decode_only = _per_item(msgspec.json.decode, clean)
    results = {
        "server_clean_us": _per_item(lambda raw: redact_event_json(raw, redactor), clean),
        "server_with_secret_us": _per_item(lambda raw: redact_event_json(raw, redactor), dirty),
        "recorder_encode_us": recorder_us,
        "json_decode_only_us": decode_only,
    }
    source = "".join(p.read_text() for p in sorted((ROOT / "backend").glob("*.py")))[:100_000]
    pytest_out = "".join(
        f"tests/test_mod.py::test_case_{i} PASSED [{i % 100:3d}%]\n" for i in range(3000)
    )[:100_000]
    for name, text in (
        ("document_source_100kb_ms", source),
        ("document_pytest_100kb_ms", pytest_out),
    ):
        fresh = [Redactor(PrivacyConfig()) for _ in range(5)]
        results[name] = statistics.median(
            _per_item(lambda r, text=text: r.text(text), [r], rounds=1) / 1000 for r in fresh
        )
    results["machine"] = f"{platform.machine()}, Python {platform.python_version()}"
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        for key, value in results.items():
            print(f"{key:28} {value if isinstance(value, str) else round(value, 2)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
