"""``prtrace demo``: the whole pipeline end to end on the bundled sample.

Against a real ``prtrace serve`` it starts for the occasion, the session is
captured by the real recorder (:mod:`prtrace.demo.live`): ``prtrace record
start``, the test runs and the commit through ``prtrace run``, notes through
``prtrace note``, a real language server (pylsp) behind ``prtrace lsp`` driven
by a scripted LSP client, the session daemon's watcher and git tracker, and
``prtrace record stop``, which seals the trace with the final patch. Then QA
verifies the patch in Docker and the demo reads the trace back, checks it and
shows it. Nothing outside a temporary home is touched, so it is safe to run
anywhere; ``--keep`` leaves the server and home for exploring.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import textwrap
from collections import Counter
from pathlib import Path
from typing import Any

from prtrace.cli import common
from prtrace.errors import PrtraceError


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="run the whole pipeline on a bundled sample repository",
        description=(
            "Start a private prtrace server and record a bug-fixing session on the bundled "
            "sample repository with the real recorder (prtrace record start, run, note, a "
            "real pylsp behind prtrace lsp driven by a scripted editor, record stop), let QA "
            "verify the fix in Docker, read the trace back and summarise it. Progress goes "
            "to stderr."
        ),
    )
    common.add_json_option(parser)
    parser.add_argument(
        "--keep",
        action="store_true",
        help="leave the server running and its home in place to explore (prints how)",
    )
    parser.add_argument(
        "--port", type=int, default=0, help="port for the demo server (default: a free one)"
    )
    parser.add_argument(
        "--out",
        metavar="FILE",
        default=None,
        help="where to write the trace JSON (default: prtrace-demo-<trace id>.json in the "
        "system temp folder)",
    )
    parser.add_argument(
        "--qa",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="verify the fix: QA applies the patch and runs the tests in Docker, and the demo "
        "waits for the verdict (default: on; --no-qa skips it and needs no Docker)",
    )
    parser.add_argument(
        "--qa-timeout",
        type=common.positive_int,
        default=900,
        metavar="SECONDS",
        help="how long to wait for QA (default: %(default)s)",
    )
    parser.set_defaults(handler=run)


def progress(message: str) -> None:
    sys.stderr.write(f"demo: {message}\n")
    sys.stderr.flush()


def run(args: argparse.Namespace) -> int:
    from prtrace.demo.server import ServerProcess

    if args.qa:
        _require_docker()
    home = Path(tempfile.mkdtemp(prefix="prtrace-demo-"))
    server = ServerProcess(
        home,
        port=args.port or None,
        env={"PRTRACE_QA_ON_FINALIZE": "true" if args.qa else "false"},
    )
    keep = False
    try:
        progress(f"starting prtrace serve on {server.url} (home {home})")
        server.start()
        trace, out = _drive(server, home, args)
        if args.json:
            common.print_json(trace)
        else:
            sys.stdout.write("\n".join(summary_lines(trace)) + "\n")
        progress(f"trace JSON written to {out}")
        keep = args.keep
        if keep:
            _explain_kept(server, trace.trace_id)
        return common.EXIT_OK
    finally:
        if not keep:
            server.stop()
            shutil.rmtree(home, ignore_errors=True)
            progress("server stopped, temporary home removed")


def _drive(server: Any, home: Path, args: argparse.Namespace) -> tuple[Any, Path]:
    """Record the session for real, wait for QA, read back and check; the trace and its file."""
    import msgspec

    from prtrace.client import Client
    from prtrace.demo import make_sample_repo
    from prtrace.demo.live import LiveSession, demo_env
    from prtrace.git import working_tree_patch

    repo, commit = make_sample_repo(home / "sample-repo")
    progress(f"sample repository at {repo} (commit {commit[:12]})")
    session = LiveSession(repo, demo_env(home, server.url, server.api_token), progress)
    started = session.start()
    try:
        session.work()
    except BaseException:
        session._prtrace("record", "stop", "--no-patch", check=False)  # stop the daemon
        raise
    stopped = session.stop()
    final_patch = working_tree_patch(repo, commit)  # what record stop computed and sent
    with Client(server.url, server.api_token) as api:
        if args.qa and stopped.get("qa_job_id"):
            progress(f"QA job {stopped['qa_job_id']}: patch at the commit, tests before and after")
            job = api.wait_for_job(stopped["qa_job_id"], timeout=args.qa_timeout)
            progress(f"QA job {job.status}" + (f": {job.error}" if job.error else ""))
        trace = api.get_trace(started["trace_id"])

    check_recorded(trace, final_patch)
    out = (
        Path(args.out)
        if args.out
        else Path(tempfile.gettempdir()) / (f"prtrace-demo-{trace.trace_id}.json")
    )
    out.write_bytes(msgspec.json.format(msgspec.json.encode(trace), indent=2) + b"\n")
    return trace, out


RECORDED_KINDS = (
    "file_opened",
    "go_to_definition",
    "find_references",
    "edit",
    "file_saved",
    "terminal_command",
    "thought",
    "commit_made",
)
"""What each recorder adds to the demo's trace: the LSP proxy, prtrace run, notes, git."""


def check_recorded(trace: Any, final_patch: str) -> None:
    """The trace must hold what the recorder captured: say so loudly if not."""
    problems = []
    if trace.status != "sealed":
        problems.append(f"status is {trace.status!r}, not 'sealed'")
    kinds = {type(event).__struct_config__.tag for event in trace.events}
    missing = [kind for kind in RECORDED_KINDS if kind not in kinds]
    if missing:
        problems.append("no " + ", ".join(missing) + " event recorded")
    if trace.artifacts.final_patch != final_patch:
        problems.append("the final patch differs from the repository's")
    if problems:
        raise PrtraceError("the recorded trace is wrong: " + "; ".join(problems))


def split_batches(events: list[Any], batches: int) -> list[list[Any]]:
    """``events`` in ``batches`` consecutive, nearly equal, non-empty parts."""
    batches = max(1, min(batches, len(events)))
    size, extra = divmod(len(events), batches)
    parts, start = [], 0
    for index in range(batches):
        end = start + size + (index < extra)
        parts.append(events[start:end])
        start = end
    return parts


def check_round_trip(trace: Any, events: list[Any], final_patch: str) -> None:
    """The server must give back exactly what was sent: say so loudly if not."""
    problems = []
    if trace.status != "sealed":
        problems.append(f"status is {trace.status!r}, not 'sealed'")
    if trace.events != events:
        sent, got = [e.id for e in events], [e.id for e in trace.events]
        problems.append(
            f"events differ: sent {len(sent)}, got {len(got)}"
            + ("" if sent != got else " (same ids, different content)")
        )
    if trace.artifacts.final_patch != final_patch:
        problems.append("the final patch differs from the one sent")
    if problems:
        raise PrtraceError("the trace read back is wrong: " + "; ".join(problems))


def _require_docker() -> None:
    """QA needs an engine and the sample's test image: say exactly what is missing."""
    from prtrace.demo import TEST_IMAGE

    advice = (
        "On Debian as root, scripts/docker-up.sh installs and starts one and builds the test "
        "images offline (./dev demo does this for you); or run `prtrace demo --no-qa`."
    )
    try:
        import docker

        client = docker.from_env(timeout=20)
        client.ping()
    except Exception as exc:  # noqa: BLE001 - any failure means "no engine answers"
        raise PrtraceError(f"QA needs a Docker engine and none answers ({exc}). {advice}") from None
    try:
        client.images.get(TEST_IMAGE)
    except Exception:  # noqa: BLE001
        raise PrtraceError(
            f"QA needs the test image {TEST_IMAGE}, which the engine does not have. "
            "Build it with `python -m prtrace.qa.images build --all` (no registry needed). "
            + advice
        ) from None


def summary_lines(trace: Any) -> list[str]:
    """What a person wants to see of the demo's trace."""
    from prtrace.cli import display

    lines = display.trace_summary(trace, events=0)
    counts = Counter(type(event).__struct_config__.tag for event in trace.events)
    lines += ["", "events by type"]
    lines += [f"  {kind:<18} {count:>3}" for kind, count in sorted(counts.items())]
    lines += ["", "the developer's thoughts"]
    for event in trace.events:
        if type(event).__struct_config__.tag == "thought":
            tags = f" [{', '.join(event.tags)}]" if event.tags else ""
            lines.append(f"  {display.when(event.t)}{tags}")
            indent = " " * 4
            lines.append(
                textwrap.fill(event.raw, 100, initial_indent=indent, subsequent_indent=indent)
            )
    lines += ["", "final patch"]
    lines += ["  " + line for line in (trace.artifacts.final_patch or "(none)").splitlines()]
    return lines


def _explain_kept(server: Any, trace_id: str) -> None:
    assert server.process is not None
    progress(f"kept: server pid {server.process.pid} at {server.url}, home {server.home}")
    progress("explore it with:")
    progress(f"  export PRTRACE_URL={server.url} PRTRACE_API_TOKEN={server.api_token}")
    progress(f"  prtrace trace show {trace_id}")
    progress(f"  curl -H 'Authorization: Bearer {server.api_token}' {server.url}/traces")
    progress(f"stop it with: kill {server.process.pid}; rm -rf {server.home}")


if __name__ == "__main__":  # pragma: no cover - `python -m prtrace.cli.demo`
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    from prtrace.cli.main import main

    sys.exit(main(["demo", *sys.argv[1:]]))
