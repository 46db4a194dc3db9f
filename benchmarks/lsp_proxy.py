#!/usr/bin/env python3
"""What ``prtrace lsp`` adds to an editor's round trips, measured against the direct path.

Runs the shared LSP timing script (``shared/bench/lsp_latency.py``: N sequential
``textDocument/definition`` round trips, then a burst of M ``didChange``) against
the echo server twice per round — directly, and through ``prtrace lsp`` recording
to a real spool — alternating, for several rounds, and prints the medians and
the difference. Alternating in one run keeps machine noise out of the
comparison.

    python benchmarks/lsp_proxy.py [--rounds 5] [--n 2000] [--m 20000] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sqlite3
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_BENCH = REPO.parent / "shared" / "bench"


def prtrace() -> list[str]:
    script = Path(sys.executable).with_name("prtrace")
    return [str(script)] if script.exists() else [sys.executable, "-m", "prtrace.cli.main"]


def run_once(bench: Path, n: int, m: int, via_proxy: bool, workspace: Path) -> dict:
    server = [sys.executable, str(bench / "lsp_echo_server.py")]
    cmd = [*prtrace(), "lsp", "--no-upload", "--", *server] if via_proxy else server
    env = dict(os.environ, PRTRACE_WORKSPACE=str(workspace))
    out = subprocess.run(
        [sys.executable, str(bench / "lsp_latency.py"), str(n), str(m), "--", *cmd],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def machine() -> dict:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpus": os.cpu_count(),
        "cpu": model,
        "python": platform.python_version(),
        "system": f"{platform.system()} {platform.release()}",
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--n", type=int, default=2000, help="definition round trips")
    parser.add_argument("--m", type=int, default=20000, help="didChange burst")
    parser.add_argument("--bench-dir", type=Path, default=DEFAULT_BENCH)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    results: dict[str, list[dict]] = {"direct": [], "proxy": []}
    spooled = 0
    with tempfile.TemporaryDirectory() as tmp:
        workspace = Path(tmp)
        for _ in range(args.rounds):
            results["direct"].append(run_once(args.bench_dir, args.n, args.m, False, workspace))
            results["proxy"].append(run_once(args.bench_dir, args.n, args.m, True, workspace))
        with sqlite3.connect(workspace / ".prtrace" / "spool.db") as db:
            (spooled,) = db.execute("SELECT COUNT(*) FROM events").fetchone()

    def median(kind: str, key: str) -> float:
        return statistics.median(r[key] for r in results[kind])

    summary = {
        "machine": machine(),
        "rounds": args.rounds,
        "n": args.n,
        "m": args.m,
        "direct": {k: median("direct", k) for k in ("p50_us", "p99_us", "burst_msgs_per_s")},
        "proxy": {k: median("proxy", k) for k in ("p50_us", "p99_us", "burst_msgs_per_s")},
        "events_spooled": spooled,
        "runs": results,
    }
    summary["added_p50_us"] = round(summary["proxy"]["p50_us"] - summary["direct"]["p50_us"], 1)
    if args.json:
        print(json.dumps(summary, indent=2))
        return 0
    d, p = summary["direct"], summary["proxy"]
    print(
        f"machine: {summary['machine']['cpus']} cpus, {summary['machine']['cpu']}, "
        f"Python {summary['machine']['python']}"
    )
    print(
        f"medians of {args.rounds} alternating rounds (N={args.n} round trips, "
        f"M={args.m} didChange):"
    )
    print(f"{'':8}{'p50 µs':>10}{'p99 µs':>10}{'msgs/s':>12}")
    print(f"{'direct':8}{d['p50_us']:>10.1f}{d['p99_us']:>10.1f}{d['burst_msgs_per_s']:>12,.0f}")
    print(f"{'proxy':8}{p['p50_us']:>10.1f}{p['p99_us']:>10.1f}{p['burst_msgs_per_s']:>12,.0f}")
    print(f"added to p50: {summary['added_p50_us']} µs; events recorded to the spool: {spooled}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
