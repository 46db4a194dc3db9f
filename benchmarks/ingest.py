"""Ingest throughput: 1000-event batches over HTTP against `prtrace serve` on SQLite,
beside raw SQLite inserts of the same rows in the same run.

    .venv/bin/python benchmarks/ingest.py [--batches 300] [--batch-size 1000] [--concurrency 4]

The HTTP figure is end to end: JSON over loopback, validation into the trace
format, idempotency hashing, one transaction per batch, commit before the 200.
The raw figure is the limit of the same storage: `sqlite3.executemany` of the
same row tuples into the same table, one transaction per batch, same pragmas.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import sqlite3
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import msgspec

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from prtrace.demo.server import ServerProcess
from prtrace.hashing import text_hash

T0 = datetime(2026, 1, 1, tzinfo=UTC)
_encode = msgspec.json.Encoder().encode


def make_event(n: int) -> dict:
    """A realistic mix: edits, navigation, commands, thoughts, file opens."""
    base = {
        "id": f"ev-{n:08d}",
        "t": (T0 + timedelta(milliseconds=n)).isoformat(),
        "session_id": "ses_bench",
    }
    kind = n % 5
    if kind == 0:
        before, after = text_hash(f"v{n}"), text_hash(f"v{n + 1}")
        patch = f"--- a/src/mod.py\n+++ b/src/mod.py\n@@ -{n % 90 + 1},2 +{n % 90 + 1},2 @@\n-    x = {n}\n+    x = {n + 1}\n     return x\n"
        return base | {
            "type": "edit",
            "path": "src/mod.py",
            "op": "replace",
            "patch_unified": patch,
            "before_hash": before,
            "after_hash": after,
            "range": {
                "start": {"line": n % 90, "character": 4},
                "end": {"line": n % 90, "character": 9},
            },
        }
    if kind == 1:
        return base | {
            "type": "go_to_definition",
            "path": "src/mod.py",
            "symbol": "parse_date",
            "range": {"start": {"line": 10, "character": 4}, "end": {"line": 10, "character": 14}},
            "targets": [{"path": "src/dates.py", "line": 42}],
            "latency_ms": 3.2,
        }
    if kind == 2:
        return base | {
            "type": "terminal_command",
            "cmd": "pytest -q tests/test_mod.py",
            "args": ["pytest", "-q", "tests/test_mod.py"],
            "cwd": "/work/repo",
            "exit_code": n % 2,
            "duration_ms": 812.5,
            "stdout": "F.....\nFAILED tests/test_mod.py::test_parse - AssertionError\n1 failed, 5 passed in 0.31s\n",
        }
    if kind == 3:
        return base | {
            "type": "thought",
            "raw": "the off-by-one is in the month rollover, not the parser",
            "tags": ["hypothesis"],
        }
    return base | {
        "type": "file_opened",
        "path": "src/dates.py",
        "language": "python",
        "version": 1,
        "hash": text_hash(str(n)),
    }


def make_batches(count: int, size: int) -> list[bytes]:
    return [
        _encode({"seq": b, "events": [make_event(b * size + i) for i in range(size)]})
        for b in range(count)
    ]


async def run_http(url: str, token: str, bodies: list[bytes], concurrency: int) -> float:
    async with httpx.AsyncClient(
        base_url=url, timeout=60, limits=httpx.Limits(max_connections=concurrency)
    ) as client:
        created = await client.post(
            "/traces",
            headers={"Authorization": f"Bearer {token}"},
            json={
                "developer": {"id": "bench"},
                "task": {"repository": "bench", "commit": "abcdef0"},
            },
        )
        created.raise_for_status()
        trace_id, upload = created.json()["trace_id"], created.json()["upload_token"]
        headers = {"Authorization": f"Bearer {upload}", "Content-Type": "application/json"}
        queue: asyncio.Queue[bytes] = asyncio.Queue()
        for body in bodies:
            queue.put_nowait(body)

        async def sender() -> None:
            while not queue.empty():
                body = queue.get_nowait()
                response = await client.post(
                    f"/traces/{trace_id}/events", content=body, headers=headers
                )
                response.raise_for_status()

        start, cpu = time.perf_counter(), time.process_time()
        await asyncio.gather(*(sender() for _ in range(concurrency)))
        elapsed = time.perf_counter() - start
        print(f"client CPU: {time.process_time() - cpu:.2f} s of {elapsed:.2f} s", file=sys.stderr)
        return elapsed


def run_raw_sqlite(path: Path, bodies: list[bytes]) -> float:
    """The same rows the server stores, by the fastest route SQLite offers."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute(
        "CREATE TABLE events (trace_id TEXT, seq INTEGER, idx INTEGER, event_id TEXT, type TEXT, t REAL,"
        " body BLOB, blob_fields BLOB, PRIMARY KEY (trace_id, seq, idx), UNIQUE (trace_id, event_id))"
    )
    conn.execute("CREATE INDEX ix_type ON events (trace_id, type)")
    decoded = [msgspec.json.decode(b) for b in bodies]
    rows = [
        [
            ("tr_raw", batch["seq"], i, e["id"], e["type"], 0.0, _encode(e), None)
            for i, e in enumerate(batch["events"])
        ]
        for batch in decoded
    ]
    start = time.perf_counter()
    for batch_rows in rows:
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany("INSERT INTO events VALUES (?,?,?,?,?,?,?,?)", batch_rows)
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - start
    conn.close()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--batches", type=int, default=300)
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--processes", type=int, default=1, help="prtrace serve --processes N")
    args = parser.parse_args()
    total = args.batches * args.batch_size
    bodies = make_batches(args.batches, args.batch_size)
    print(
        f"{args.batches} batches x {args.batch_size} events = {total:,} events, "
        f"{sum(map(len, bodies)) / 1e6:.1f} MB of JSON",
        file=sys.stderr,
    )
    with tempfile.TemporaryDirectory() as tmp:
        server = ServerProcess(
            Path(tmp) / "home",
            env={
                "PRTRACE_QA_ON_FINALIZE": "false",
                "PRTRACE_WORKERS": "0",
                "PRTRACE_LOG_LEVEL": "warning",
            },
            serve_args=["--processes", str(args.processes)],
        )
        server.start()
        try:
            http_seconds = asyncio.run(
                run_http(server.url, server.api_token, bodies, args.concurrency)
            )
        finally:
            server.stop()
        raw_seconds = run_raw_sqlite(Path(tmp) / "raw.db", bodies)
    http_rate, raw_rate = total / http_seconds, total / raw_seconds
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"SQLite {sqlite3.sqlite_version}"
    )
    print(
        f"HTTP  prtrace serve (SQLite): {http_rate:>10,.0f} events/s  ({http_seconds:.2f} s, "
        f"{args.batches / http_seconds:.0f} batches/s, concurrency {args.concurrency}, "
        f"{args.processes} server process(es))"
    )
    print(f"raw   sqlite3.executemany:    {raw_rate:>10,.0f} events/s  ({raw_seconds:.2f} s)")
    print(f"end to end reaches {100 * http_rate / raw_rate:.0f}% of raw SQLite")


if __name__ == "__main__":
    main()
