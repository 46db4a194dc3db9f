"""``prtrace demo``: the whole pipeline end to end on the bundled sample.

It does what a developer's recorder and a researcher would do, against a real
``prtrace serve`` it starts for the occasion: build the sample repository,
create a trace for it, upload the recorded session in batches, finalize with
the final patch, read the trace back, check it is what was sent, and show it.
Nothing outside a temporary ``PRTRACE_HOME`` is touched, so it is safe to run
anywhere; ``--keep`` leaves the server and home for exploring.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import sys
import tempfile
import textwrap
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from prtrace.cli import common
from prtrace.errors import PrtraceError

SESSION_SECONDS = 300
"""About how long the recorded session lasts; it is placed to end now."""


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="run the whole pipeline on a bundled sample repository",
        description=(
            "Start a private prtrace server, create a trace for the bundled sample repository, "
            "upload a recorded bug-fixing session in batches, finalize it with the final patch, "
            "read it back and summarise it. Progress goes to stderr."
        ),
    )
    common.add_json_option(parser)
    parser.add_argument(
        "--keep",
        action="store_true",
        help="leave the server running and its home in place to explore (prints how)",
    )
    parser.add_argument(
        "--batches",
        type=common.positive_int,
        default=3,
        metavar="N",
        help="upload the session in N batches (default: %(default)s)",
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
    """Create, upload, finalize, read back and check; return the trace and its file."""
    import msgspec

    from prtrace import __version__
    from prtrace.client import Client
    from prtrace.demo import (
        FAIL_TO_PASS,
        TEST_COMMAND,
        TEST_IMAGE,
        make_sample_repo,
        recorded_session,
    )
    from prtrace.ids import new_session_id
    from prtrace.trace import Artifacts, Developer, Environment, Task

    repo, commit = make_sample_repo(home / "sample-repo")
    progress(f"sample repository at {repo} (commit {commit[:12]})")
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=SESSION_SECONDS)
    events, final_patch = recorded_session(repo, commit, session_id=new_session_id(), start=start)

    with Client(server.url, server.api_token) as api:
        created = api.create_trace(
            developer=Developer(id="demo", name="Dana Developer"),
            task=Task(
                repository=str(repo),
                commit=commit,
                branch="main",
                title="Valuation report total is a few cents short",
                description="The closing report says $70.28 where the CSV export adds up "
                "to $70.32. Find out why and fix it.",
                test_command=TEST_COMMAND,
                test_image=TEST_IMAGE,
                fail_to_pass=list(FAIL_TO_PASS),
            ),
            environment=Environment(
                os=platform.system().lower(),
                editor="neovim",
                shell="bash",
                language_servers=["pylsp"],
                recorder_version=__version__,
            ),
        )
        progress(f"created trace {created.trace_id}")
        for seq, batch in enumerate(split_batches(events, args.batches)):
            accepted = api.upload_events(created.trace_id, seq, batch, token=created.upload_token)
            progress(f"uploaded batch {seq + 1}/{args.batches}: {accepted.accepted} events")
        finalized = api.finalize(
            created.trace_id, Artifacts(final_patch=final_patch), token=created.upload_token
        )
        progress(f"finalized: {finalized.status}, {finalized.events} events")
        if args.qa and finalized.qa_job_id:
            progress(f"QA job {finalized.qa_job_id}: patch at the commit, tests before and after")
            job = api.wait_for_job(finalized.qa_job_id, timeout=args.qa_timeout)
            progress(f"QA job {job.status}" + (f": {job.error}" if job.error else ""))
        trace = api.get_trace(created.trace_id)

    check_round_trip(trace, events, final_patch)
    out = (
        Path(args.out)
        if args.out
        else Path(tempfile.gettempdir()) / (f"prtrace-demo-{trace.trace_id}.json")
    )
    out.write_bytes(msgspec.json.format(msgspec.json.encode(trace), indent=2) + b"\n")
    return trace, out


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
