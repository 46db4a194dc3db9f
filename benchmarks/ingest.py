"""Ingest cost, stage by stage and end to end, on real text and on the load generator's mix,
beside the raw limits of the same storage in the same run.

    .venv/bin/python benchmarks/ingest.py [--mix real|loadgen] [--batches 40] [--batch-size 1000]
        [--pg postgresql://…] [--http] [--concurrency 1] [--rounds 3] [--json]

* **mixes**: ``real`` is made of benchmarks/data/ (outputs of real tools — pytest with its
  banners and tracebacks, pip, npm, cargo, gcc, mypy, a Python traceback, ``git log``, a
  hex dump, checksums — real diffs: source, uv.lock, package-lock.json, a minified
  lodash, a base64 data URI in CSS — and real notes: this repository's commit messages),
  cut into edits, commands and thoughts, plus the structure-only events a recorder also
  sends (go-to-definition, file opens). ``loadgen`` is ``shared/bench/ingest_loadgen.py``'s
  mix (40% edits with ~300-byte diffs, 30% commands with ~200 bytes of pytest output,
  30% notes), built by its own code.
* **validation**: each event's JSON decoded into the trace format (what the server does
  to every event), per event type; **redaction**: ``redact_event_json`` (the server's
  safety net), per event type; **decode_batch**: both over whole batches, as the route
  runs them.
* **storage**: ``TraceStore.append_decoded`` of pre-validated batches (hash, id checks,
  one transaction per batch, commit), on SQLite and — with ``--pg`` or
  ``PRTRACE_TEST_PG_URL`` — on PostgreSQL; beside it, the raw limit of the same rows:
  ``sqlite3.executemany`` (same pragmas, same indexes) and asyncpg
  ``copy_records_to_table`` into a copy of the events table (same indexes).
* **HTTP** (``--http``): ``prtrace serve`` end to end over loopback, on SQLite and on
  PostgreSQL: JSON, validation, redaction, storage, commit before the 200.

Rounds alternate the configurations; the figures are medians over rounds.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import os
import platform
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import msgspec

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from prtrace.api_types import RawEventBatch
from prtrace.backend.ingest import DecodedBatch, decode_batch
from prtrace.events import Event
from prtrace.hashing import text_hash
from prtrace.redaction import redact_event_json

DATA = ROOT / "benchmarks" / "data"
T0 = datetime(2026, 1, 1, tzinfo=UTC)
_encode = msgspec.json.Encoder().encode
_event_decoder = msgspec.json.Decoder(Event)


# --- the mixes ----------------------------------------------------------------------------


def make_event(n: int) -> dict:
    """The earlier synthetic mix (benchmarks/redaction.py still measures on it): edits,
    navigation, commands, thoughts, file opens, ~310 bytes each."""
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


def _hunks(diff: str, limit: int = 6000) -> list[str]:
    """A diff cut into per-file patches of at most ``limit`` bytes (a whole hunk
    stays whole, so a minified line or a data URI is one long line as it was)."""
    out: list[str] = []
    current: list[str] = []
    for line in diff.splitlines(keepends=True):
        if line.startswith("diff --git") and current:
            out.append("".join(current))
            current = []
        current.append(line)
        if sum(map(len, current)) > limit and not line.startswith(("---", "+++")):
            out.append("".join(current))
            current = []
    if current:
        out.append("".join(current))
    return [h for h in out if "@@" in h or len(h) > 200]


def _chunks(text: str, limit: int = 4000) -> list[str]:
    lines, out, size = text.splitlines(keepends=True), [], 0
    current: list[str] = []
    for line in lines:
        current.append(line)
        size += len(line)
        if size > limit:
            out.append("".join(current))
            current, size = [], 0
    if current:
        out.append("".join(current))
    return out


def real_texts() -> dict[str, list[str]]:
    diffs = [h for path in sorted((DATA / "diffs").glob("*.txt")) for h in _hunks(path.read_text())]
    outputs = [
        c for path in sorted((DATA / "outputs").glob("*.txt")) for c in _chunks(path.read_text())
    ]
    messages = (DATA / "notes" / "commit_messages.txt").read_text().split("\n\n")
    notes = [m.strip() for m in messages if len(m.strip()) > 40]
    return {"diffs": diffs, "outputs": outputs, "notes": notes}


def real_event(n: int, texts: dict[str, list[str]], rng: random.Random) -> dict:
    base = {
        "id": f"ses_bench-{n:08d}",
        "t": (T0 + timedelta(milliseconds=n)).isoformat().replace("+00:00", "Z"),
        "session_id": "ses_bench",
    }
    kind = rng.random()
    if kind < 0.35:
        patch = rng.choice(texts["diffs"])
        path = next(
            (line[6:].strip() for line in patch.splitlines() if line.startswith("+++ b/")),
            "src/mod.py",
        )
        return base | {
            "type": "edit",
            "path": path,
            "op": "replace",
            "patch_unified": patch,
            "before_hash": text_hash(f"v{n}"),
            "after_hash": text_hash(f"v{n + 1}"),
        }
    if kind < 0.65:
        out = rng.choice(texts["outputs"])
        return base | {
            "type": "terminal_command",
            "cmd": "python -m pytest -q tests/test_cart.py",
            "args": ["python", "-m", "pytest", "-q", "tests/test_cart.py"],
            "cwd": "/work/shop",
            "exit_code": 1,
            "duration_ms": 812.5,
            "stdout": out,
            "stderr": "",
        }
    if kind < 0.85:
        return base | {"type": "thought", "raw": rng.choice(texts["notes"]), "tags": ["note"]}
    if kind < 0.93:
        return base | {
            "type": "go_to_definition",
            "path": "src/shop/cart.py",
            "symbol": "compute_total",
            "range": {"start": {"line": 10, "character": 4}, "end": {"line": 10, "character": 17}},
            "targets": [{"path": "src/shop/cart.py", "line": 42}],
            "latency_ms": 3.2,
        }
    return base | {
        "type": "file_opened",
        "path": "src/shop/cart.py",
        "language": "python",
        "version": 1,
        "hash": text_hash(str(n)),
    }


def _loadgen_module() -> Any:
    for candidate in (ROOT.parent / "shared", ROOT.parents[1] / "shared", Path("/work/shared")):
        path = candidate / "bench" / "ingest_loadgen.py"
        if path.exists():
            spec = importlib.util.spec_from_file_location("ingest_loadgen", path)
            assert spec and spec.loader
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            return module
    raise SystemExit("shared/bench/ingest_loadgen.py not found (it sits beside the repository)")


def make_batches(mix: str, count: int, size: int) -> list[bytes]:
    bodies = []
    if mix == "loadgen":
        peer = _loadgen_module().Prtrace(client=None, keep_events=False)
        for b in range(count):
            events = [
                peer.event(b * size + i + 1, 1.767e9 + (b * size + i) / 1000) for i in range(size)
            ]
            bodies.append(_encode({"seq": b, "events": events}))
        return bodies
    texts, rng = real_texts(), random.Random(15)
    for b in range(count):
        events = [real_event(b * size + i, texts, rng) for i in range(size)]
        bodies.append(_encode({"seq": b, "events": events}))
    return bodies


# --- stages -------------------------------------------------------------------------------


def _median_us(fn: Callable[[], Any], items: int, rounds: int) -> float:
    """Median µs per item over ``rounds`` timed calls, after one untimed call: the first
    pass over a stage's data costs up to twice the next ones (caches, the allocator
    growing its arenas), which a long-running decoder process pays once."""
    fn()
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) / items * 1e6)
    return statistics.median(times)


def stage_costs(bodies: list[bytes], rounds: int) -> dict[str, Any]:
    by_type: dict[str, list[bytes]] = {}
    for body in bodies:
        for raw in msgspec.json.decode(body, type=RawEventBatch).events:
            kind = msgspec.json.decode(raw, type=dict[str, Any])["type"]
            by_type.setdefault(kind, []).append(bytes(raw))
    out: dict[str, Any] = {"per_type": {}}
    for kind, raws in sorted(by_type.items()):
        raws = raws[:5000]
        out["per_type"][kind] = {
            "count": len(raws),
            "bytes": round(statistics.mean(map(len, raws))),
            "validate_us": _median_us(
                lambda r=raws: [_event_decoder.decode(x) for x in r], len(raws), rounds
            ),
            "redact_us": _median_us(
                lambda r=raws: [redact_event_json(x) for x in r], len(raws), rounds
            ),
        }
    events = sum(len(v) for v in by_type.values())
    sample = bodies[: max(1, min(len(bodies), 10))]
    n = sum(len(msgspec.json.decode(b, type=RawEventBatch).events) for b in sample)
    out["decode_batch_us"] = _median_us(lambda: [decode_batch(b) for b in sample], n, rounds)
    out["events"] = events
    return out


async def storage_rate(url: str, home: Path, batches: list[DecodedBatch]) -> float:
    from prtrace.api_types import CreateTraceRequest
    from prtrace.backend.services import Services
    from prtrace.config import load_settings

    settings = load_settings(
        environ={
            "PRTRACE_HOME": str(home),
            "PRTRACE_DATABASE_URL": url,
            "PRTRACE_API_TOKEN": "pta_bench-ingest-0123456789",
        }
    )
    services = await Services.open(settings)
    try:
        request = msgspec.convert(
            {"developer": {"id": "bench"}, "task": {"repository": "bench", "commit": "a" * 40}},
            CreateTraceRequest,
        )
        trace = await services.traces.create(request)
        start = time.perf_counter()
        for batch in batches:
            await services.traces.append_decoded(trace.trace_id, batch)
        elapsed = time.perf_counter() - start
    finally:
        await services.close()
    return sum(len(b.raw) for b in batches) / elapsed


def _rows(batches: list[DecodedBatch], trace_id: str) -> list[list[tuple]]:
    return [
        [
            (trace_id, b.seq, i, b.ids[i], b.types[i], b.times[i], b.raw[i], None)
            for i in range(len(b.raw))
        ]
        for b in batches
    ]


def raw_sqlite_rate(path: Path, batches: list[DecodedBatch]) -> float:
    """The same rows the server stores, by the fastest route SQLite offers."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute(
        "CREATE TABLE events (trace_id TEXT, seq INTEGER, idx INTEGER, event_id TEXT, type TEXT, t REAL,"
        " body BLOB, blob_fields BLOB, PRIMARY KEY (trace_id, seq, idx), UNIQUE (trace_id, event_id))"
    )
    rows = _rows(batches, "tr_raw")
    start = time.perf_counter()
    for batch_rows in rows:
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany("INSERT INTO events VALUES (?,?,?,?,?,?,?,?)", batch_rows)
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - start
    conn.close()
    return sum(map(len, rows)) / elapsed


async def raw_copy_rate(url: str, batches: list[DecodedBatch]) -> float:
    """asyncpg ``copy_records_to_table`` of the same rows into a fresh copy of the
    events table (same primary key and unique constraint), a transaction each."""
    import asyncpg

    dsn = url.replace("postgresql+asyncpg://", "postgresql://")
    conn = await asyncpg.connect(dsn)
    table = f"bench_raw_events_{os.getpid()}"
    try:
        await conn.execute(
            f"CREATE TABLE {table} (trace_id varchar(64) NOT NULL, seq bigint NOT NULL,"
            " idx integer NOT NULL, event_id varchar(128) NOT NULL, type varchar(32) NOT NULL,"
            " t double precision NOT NULL, body bytea NOT NULL, blob_fields bytea,"
            " PRIMARY KEY (trace_id, seq, idx), UNIQUE (trace_id, event_id))"
        )
        rows = _rows(batches, "tr_raw")
        columns = ["trace_id", "seq", "idx", "event_id", "type", "t", "body", "blob_fields"]
        start = time.perf_counter()
        for batch_rows in rows:
            async with conn.transaction():
                await conn.copy_records_to_table(table, records=batch_rows, columns=columns)
        elapsed = time.perf_counter() - start
        return sum(map(len, rows)) / elapsed
    finally:
        await conn.execute(f"DROP TABLE IF EXISTS {table}")
        await conn.close()


def pg_database(url: str, name: str) -> str:
    """A fresh database on the server of ``url`` (so runs do not share tables)."""
    import asyncpg

    async def create() -> None:
        conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()

    asyncio.run(create())
    base, _, _ = url.rpartition("/")
    return f"{base}/{name}"


# --- HTTP ---------------------------------------------------------------------------------


async def http_rate(url: str, token: str, bodies: list[bytes], concurrency: int) -> float:
    import httpx

    async with httpx.AsyncClient(
        base_url=url, timeout=120, limits=httpx.Limits(max_connections=concurrency)
    ) as client:
        queue: asyncio.Queue[tuple[str, str, list[bytes]]] = asyncio.Queue()
        per = [bodies[i::concurrency] for i in range(concurrency)]
        for mine in per:
            created = await client.post(
                "/traces",
                headers={"Authorization": f"Bearer {token}"},
                json={
                    "developer": {"id": "bench"},
                    "task": {"repository": "bench", "commit": "a" * 40},
                },
            )
            created.raise_for_status()
            queue.put_nowait((created.json()["trace_id"], created.json()["upload_token"], mine))
        total = sum(len(msgspec.json.decode(b)["events"]) for b in bodies)

        async def sender() -> None:
            trace_id, upload, mine = queue.get_nowait()
            headers = {"Authorization": f"Bearer {upload}", "Content-Type": "application/json"}
            for body in mine:
                response = await client.post(
                    f"/traces/{trace_id}/events", content=body, headers=headers
                )
                response.raise_for_status()

        start = time.perf_counter()
        await asyncio.gather(*(sender() for _ in range(concurrency)))
        return total / (time.perf_counter() - start)


def run_http(
    home: Path, db_url: str | None, bodies: list[bytes], concurrency: int, processes: int
) -> float:
    from prtrace.demo.server import ServerProcess

    env = {
        "PRTRACE_QA_ON_FINALIZE": "false",
        "PRTRACE_WORKERS": "0",
        "PRTRACE_LOG_LEVEL": "warning",
    }
    if db_url:
        env["PRTRACE_DATABASE_URL"] = db_url
    server = ServerProcess(home, env=env, serve_args=["--processes", str(processes)])
    server.start()
    try:
        return asyncio.run(http_rate(server.url, server.api_token, bodies, concurrency))
    finally:
        server.stop()


# --- main ---------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--mix", choices=["real", "loadgen"], default="real")
    parser.add_argument("--batches", type=int, default=40)
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--pg", default=os.environ.get("PRTRACE_TEST_PG_URL"))
    parser.add_argument("--http", action="store_true")
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--processes", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    bodies = make_batches(args.mix, args.batches, args.batch_size)
    total = args.batches * args.batch_size
    print(
        f"mix {args.mix}: {args.batches} batches x {args.batch_size} = {total:,} events, "
        f"{sum(map(len, bodies)) / total:.0f} bytes/event",
        file=sys.stderr,
    )
    results: dict[str, Any] = {"mix": args.mix, "events": total}
    results["stages"] = stage_costs(bodies, args.rounds)
    decoded = [decode_batch(b) for b in bodies]
    configs: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):
            home = Path(tmp) / f"r{r}"
            configs.setdefault("storage_sqlite", []).append(
                asyncio.run(storage_rate(f"sqlite:///{home}/s.db", home / "s", decoded))
            )
            configs.setdefault("raw_sqlite_executemany", []).append(
                raw_sqlite_rate(Path(tmp) / f"raw{r}.db", decoded)
            )
            if args.pg:
                url = pg_database(args.pg, f"bench_ingest_{os.getpid()}_{r}")
                configs.setdefault("storage_postgres", []).append(
                    asyncio.run(storage_rate(url, home / "p", decoded))
                )
                configs.setdefault("raw_postgres_copy", []).append(
                    asyncio.run(raw_copy_rate(url, decoded))
                )
            if args.http:
                configs.setdefault("http_sqlite", []).append(
                    run_http(home / "hs", None, bodies, args.concurrency, args.processes)
                )
                if args.pg:
                    url = pg_database(args.pg, f"bench_http_{os.getpid()}_{r}")
                    configs.setdefault("http_postgres", []).append(
                        run_http(home / "hp", url, bodies, args.concurrency, args.processes)
                    )
    results["rates"] = {k: {"median": statistics.median(v), "all": v} for k, v in configs.items()}
    results["machine"] = (
        f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"SQLite {sqlite3.sqlite_version}, load average {os.getloadavg()[0]:.1f}"
    )
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    stages = results["stages"]
    print(f"machine: {results['machine']}")
    print(f"{'event type':20} {'count':>6} {'bytes':>6} {'validate µs':>12} {'redact µs':>10}")
    for kind, row in stages["per_type"].items():
        print(
            f"{kind:20} {row['count']:>6} {row['bytes']:>6} {row['validate_us']:>12.2f} {row['redact_us']:>10.2f}"
        )
    print(
        f"decode_batch (validate + redact, whole batches): {stages['decode_batch_us']:.2f} µs/event"
    )
    for name, rate in results["rates"].items():
        runs = ", ".join(f"{x:,.0f}" for x in rate["all"])
        print(
            f"{name:24} {rate['median']:>10,.0f} events/s  {1e6 / rate['median']:7.2f} µs/event  ({runs})"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
