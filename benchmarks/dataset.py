"""`prtrace dataset build` over 1,000 and 10,000 sealed traces: throughput and peak memory.

    .venv/bin/python benchmarks/dataset.py [--counts 1000,10000] [--json]

The traces are made in-process through the store the routes call
(tests/support/export_dataset.py: an edit, a command with ~3.5 KB of output and a
note each), then a real `prtrace serve` streams them over `GET /export` to the real
CLI, which writes the whole folder (instances, trajectories, predictions; JSONL and
parquet; the card). Peak memory is the CLI process's own max RSS (`ru_maxrss` of the
child): flat from 1,000 to 10,000 traces means the build holds one row group, not the
dataset. Every string goes through the privacy check on the way (it is part of the cost).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from prtrace.config import new_token
from prtrace.demo.server import ServerProcess, prtrace_command
from tests.support.export_dataset import make_dataset

REPO = "https://example.com/dataset-bench.git"


def build(server: ServerProcess, out: Path) -> dict[str, float]:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("PRTRACE_")},
        "PRTRACE_URL": server.url,
        "PRTRACE_API_TOKEN": server.api_token,
    }
    # A small parent whose only child is the CLI: its RUSAGE_CHILDREN peak is the CLI's.
    measure = (
        "import resource, subprocess, sys\n"
        "done = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
        "sys.stderr.write(done.stderr)\n"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
        "print(done.stdout)\n"
        "sys.exit(done.returncode)\n"
    )
    start = time.perf_counter()
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            measure,
            *prtrace_command(),
            "dataset",
            "build",
            str(out),
            "--any-verdict",
            "--json",
            "--no-progress",
        ],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(done.stderr)
    peak_kib, _, stdout = done.stdout.partition("\n")
    peak = int(peak_kib)
    report = json.loads(stdout)
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    return {
        "traces": report["traces"],
        "seconds": round(seconds, 2),
        "traces_per_s": round(report["traces"] / seconds),
        "peak_rss_mib": round(peak / 1024, 1),
        "folder_mib": round(size / 2**20, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--counts", default="1000,10000")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    counts = sorted(int(c) for c in args.counts.split(","))
    results = []
    with tempfile.TemporaryDirectory(prefix="prtrace-bench-dataset-") as tmp:
        for count in counts:
            home = Path(tmp) / f"home-{count}"
            token = new_token("pta_")
            made = time.perf_counter()
            make_dataset(home, token, count, REPO)
            print(f"{count} traces made in {time.perf_counter() - made:.0f} s", file=sys.stderr)
            server = ServerProcess(
                home, api_token=token, env={"PRTRACE_QA_ON_FINALIZE": "false"}
            ).start()
            try:
                results.append(build(server, Path(tmp) / f"out-{count}"))
            finally:
                server.stop()
            print(results[-1], file=sys.stderr)
    machine = f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    if args.json:
        print(json.dumps({"machine": machine, "results": results}, indent=2))
        return
    print(f"machine: {machine}")
    print("| traces | build time | traces/s | peak RSS of the CLI | folder |")
    print("| --- | --- | --- | --- | --- |")
    for r in results:
        print(
            f"| {r['traces']:,} | {r['seconds']} s | {r['traces_per_s']:,} | "
            f"{r['peak_rss_mib']} MiB | {r['folder_mib']} MiB |"
        )


if __name__ == "__main__":
    main()
