"""How much time QA adds beyond the test command itself, with a warm cache.

QA's own work per trace: checkout (mirror lookup + worktree), the patch check
and ladder, two container lifecycles (create, start, wait, logs, remove),
parsing, the verdict and cleanup. The test command's own run time is what the
engine reports between the container's start and its exit (``StartedAt`` to
``FinishedAt``), for both runs; overhead = QA's wall time − those two.

Target: under 1.5 s per trace on the 2-core machine. Usage:

    python benchmarks/qa.py [--traces 10] [--json]

Needs a Docker engine and ``prtrace-test/python:bookworm``
(``scripts/docker-up.sh``). The first trace warms the mirror and is not counted.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from prtrace.qa.pipeline import QASettings, run_qa_report
from tests.support.qa_support import diff_of, make_repo, make_trace

CALC = "def add(a, b):\n    return a - b\n"
TESTS = "".join(
    f"from calc import add\n\n\ndef test_add_{i}():\n    assert add({i}, 1) == {i + 1}\n\n"
    for i in range(20)
)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--traces", type=int, default=10)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory(prefix="prtrace-qa-bench-") as tmp:
        files = {"calc.py": CALC, "tests/test_calc.py": TESTS}
        files.update({f"pkg/mod{i}.py": f"X = {i}\n" * 50 for i in range(200)})
        repo, commit = make_repo(Path(tmp) / "repo", files)
        patch = diff_of(repo, {"calc.py": CALC.replace("a - b", "a + b")})
        trace = make_trace(repo, commit, patch=patch)
        settings = QASettings(cache_dir=Path(tmp) / "cache")
        rows = []
        for i in range(args.traces + 1):
            t0 = time.monotonic()
            report = run_qa_report(trace, settings=settings, job_id=f"bench-{i}")
            wall = (time.monotonic() - t0) * 1000
            assert report.result.verdict == "resolved", report.result
            tm = report.timings_ms
            command = tm.get("base_command", 0) + tm.get("patched_command", 0)
            if i == 0:
                continue  # cold mirror
            rows.append(
                {"wall_ms": wall, "command_ms": command, "overhead_ms": wall - command, **tm}
            )

    def med(key: str) -> float:
        return round(statistics.median(r.get(key, 0.0) for r in rows), 1)

    keys = [
        "wall_ms",
        "command_ms",
        "overhead_ms",
        "checkout",
        "patch_check",
        "base_container",
        "base_command",
        "apply",
        "patched_container",
        "patched_command",
        "base_parse",
        "patched_parse",
        "cleanup",
    ]
    summary = {
        "traces": len(rows),
        "median": {k: med(k) for k in keys},
        "max_overhead_ms": round(max(r["overhead_ms"] for r in rows), 1),
        "machine": f"{platform.platform()}, {os.cpu_count()} cores, Python {platform.python_version()}",
    }
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print(f"QA overhead per trace (warm cache, {summary['traces']} traces, median):")
        for k, v in summary["median"].items():
            print(f"  {k:<18} {v:8.1f} ms")
        print(f"  max overhead       {summary['max_overhead_ms']:8.1f} ms")
        print(f"  machine: {summary['machine']}")
    return 0 if summary["median"]["overhead_ms"] < 1500 else 1


if __name__ == "__main__":
    sys.exit(main())
