#!/usr/bin/env python3
"""The file watcher on a big tree, and the shell hook's cost per command.

Builds a tree of ``--files`` files (default 50,000), most of them under an ignored
``node_modules/`` (``--ignored-share``, default 90 %), and runs the watcher as the
daemon does (:class:`prtrace.recorder.files.watcher.FileWatcher` in its own process, spooling to a
real ``.prtrace/spool.db``). Measures:

* **start**: process start → watching (imports, ignore rules, the baseline read of
  every file that is not ignored, inotify watches on every folder);
* **idle CPU**: the watcher process's user+system time over ``--idle`` seconds of
  nothing happening (from ``/proc/<pid>/stat``), as a share of one core;
* **change → spooled**: a file written → its ``file_changed`` committed in the
  spool (includes the 0.3 s debounce), median of 20;
* **npm-install storm**: 5,000 files written under ``node_modules/``: CPU the
  watcher spent filtering them, and that it recorded none;
* **hook cost**: ``prtrace hook bash|zsh``'s preexec + precmd per command (the
  record appended to ``.prtrace/hook/``), net of an empty loop, median of 5 × 2,000.

    python benchmarks/watcher.py [--files 50000] [--idle 10] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

_CHILD = """
import sys, time
sys.path.insert(0, {repo!r})
from pathlib import Path
from prtrace.recorder.files.watcher import FileWatcher
w = FileWatcher(Path({root!r})).start()
print(len(w.baseline), flush=True)
sys.stdin.read()
w.stop()
"""


def build_tree(root: Path, files: int, ignored_share: float) -> None:
    ignored = int(files * ignored_share)
    (root / ".gitignore").write_text("node_modules/\n")
    for i in range(files - 1):
        if i < ignored:
            folder = root / "node_modules" / f"pkg{i // 50}"
        else:
            folder = root / "src" / f"mod{(i - ignored) // 50}"
        if i % 50 == 0 or not folder.exists():
            folder.mkdir(parents=True, exist_ok=True)
        (folder / f"f{i}.js").write_text(f"export const v{i} = {i};\n")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def spooled_changes(root: Path) -> int:
    db = root / ".prtrace" / "spool.db"
    if not db.exists():
        return 0
    con = sqlite3.connect(db, timeout=30)
    try:
        return con.execute("SELECT COUNT(*) FROM events").fetchone()[0]
    except sqlite3.OperationalError:
        return 0
    finally:
        con.close()


def bench_watcher(files: int, ignored_share: float, idle: float) -> dict:
    with tempfile.TemporaryDirectory(prefix="prtrace-watch-bench-") as tmp:
        root = Path(tmp)
        t0 = time.perf_counter()
        build_tree(root, files, ignored_share)
        built = time.perf_counter() - t0
        env = dict(os.environ, PRTRACE_WORKSPACE=str(root))
        t0 = time.perf_counter()
        child = subprocess.Popen(
            [sys.executable, "-c", _CHILD.format(repo=str(REPO), root=str(root))],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        assert child.stdout is not None and child.stdin is not None
        baseline = int(child.stdout.readline())
        started = time.perf_counter() - t0
        try:
            time.sleep(1.0)  # let start-up settle
            c0, w0 = cpu_seconds(child.pid), time.perf_counter()
            time.sleep(idle)
            idle_cpu = (cpu_seconds(child.pid) - c0) / (time.perf_counter() - w0)

            latencies = []
            target = next((root / "src").iterdir()) / "bench.txt"
            for i in range(20):
                before = spooled_changes(root)
                w = time.perf_counter()
                target.write_text(f"change {i}\n")
                while spooled_changes(root) == before:
                    time.sleep(0.005)
                latencies.append(time.perf_counter() - w)

            before = spooled_changes(root)
            c0 = cpu_seconds(child.pid)
            storm = root / "node_modules" / "storm"
            storm.mkdir(parents=True)
            for i in range(5000):
                (storm / f"s{i}.js").write_text("x\n")
            time.sleep(2.0)
            storm_cpu = cpu_seconds(child.pid) - c0
            storm_recorded = spooled_changes(root) - before
        finally:
            child.stdin.close()
            child.wait(60)
    return {
        "files": files,
        "not_ignored": baseline,
        "tree_build_s": round(built, 2),
        "start_s": round(started, 2),
        "idle_cpu_percent": round(idle_cpu * 100, 3),
        "change_to_spooled_ms_p50": round(statistics.median(latencies) * 1000, 1),
        "storm_cpu_s": round(storm_cpu, 3),
        "storm_events_recorded": storm_recorded,
    }


_HOOK_LOOP = {
    "bash": """source {hook}; cd {ws}
t0=$EPOCHREALTIME; for ((i=0;i<{n};i++)); do :; done; t1=$EPOCHREALTIME
set -o history; HISTCONTROL=
# what PS0 does as a command line is read (recorder/terminal/bash_hooks.py), then the precmd
for ((i=0;i<{n};i++)); do builtin history -s "make test"; __prtrace_hook_ran=1 \
__prtrace_hook_start=$((__prtrace_hook_hist + 1)) __prtrace_hook_cwd=$PWD \
__prtrace_hook_t0=${{EPOCHREALTIME/[.,]/}}; __prtrace_hook_precmd; done
t2=$EPOCHREALTIME; echo "$t0 $t1 $t2"
""",
    "zsh": """source {hook}; cd {ws}
t0=$EPOCHREALTIME; for ((i=0;i<{n};i++)); do :; done; t1=$EPOCHREALTIME
for ((i=0;i<{n};i++)); do __prtrace_hook_preexec "make test"; __prtrace_hook_precmd; done
t2=$EPOCHREALTIME; echo "$t0 $t1 $t2"
""",
}


def bench_hook(shell: str, n: int = 2000, rounds: int = 5) -> float | None:
    """Microseconds per command, net of an empty loop."""
    if shutil.which(shell) is None:
        return None
    from prtrace.recorder.terminal.hooks import SNIPPETS

    results = []
    with tempfile.TemporaryDirectory(prefix="prtrace-hook-bench-") as tmp:
        ws = Path(tmp) / "ws" / "deep" / "er"
        (Path(tmp) / "ws" / ".prtrace" / "hook").mkdir(parents=True)
        ws.mkdir(parents=True)
        hook = Path(tmp) / f"hook.{shell}"
        hook.write_text(SNIPPETS[shell])
        script = _HOOK_LOOP[shell].format(hook=hook, ws=ws, n=n)
        for _ in range(rounds):
            out = subprocess.run(
                [shell, "-c", script], capture_output=True, text=True, check=True
            ).stdout.split()
            t0, t1, t2 = (float(x.replace(",", ".")) for x in out)
            results.append(((t2 - t1) - (t1 - t0)) / n * 1e6)
    return round(statistics.median(results), 1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=50_000)
    parser.add_argument("--ignored-share", type=float, default=0.9)
    parser.add_argument("--idle", type=float, default=10.0)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    report = {
        "machine": (
            f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
        ),
        "watcher": bench_watcher(args.files, args.ignored_share, args.idle),
        "hook_us_per_command": {shell: bench_hook(shell) for shell in ("bash", "zsh")},
    }
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        w = report["watcher"]
        print(f"machine: {report['machine']}")
        print(
            f"tree: {w['files']} files, {w['not_ignored']} not ignored "
            f"(built in {w['tree_build_s']} s)"
        )
        print(f"start: {w['start_s']} s; idle CPU: {w['idle_cpu_percent']} % of a core")
        print(f"change -> spooled p50: {w['change_to_spooled_ms_p50']} ms")
        print(
            f"5,000-file storm in node_modules: {w['storm_cpu_s']} s CPU, "
            f"{w['storm_events_recorded']} events"
        )
        for shell, us in report["hook_us_per_command"].items():
            print(f"hook {shell}: {us} us per command")
    return 0


if __name__ == "__main__":
    sys.exit(main())
