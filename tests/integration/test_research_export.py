"""Export (issue 7): ``GET /export`` / ``prtrace trace export`` stream JSONL in constant
memory, with the list's filters, and can keep only some event types or cap command output.

The 10,000-trace test measures memory where it would grow if export held what it
streamed: the server's generator (tracemalloc in-process over the same store the
route uses), the server process (RSS while a client streams), and the CLI
(tracemalloc while it writes a file). Every line is decoded as a
:class:`prtrace.trace.Trace` and compared with what was stored.
"""

from __future__ import annotations

import asyncio
import json
import tracemalloc
from pathlib import Path
from typing import Any

import msgspec
import pytest

from prtrace import events as ev
from prtrace.backend.services import Services
from prtrace.backend.storage.export import trim_marker
from prtrace.backend.storage.queries import TraceFilters
from prtrace.cli.main import main as prtrace_main
from prtrace.client import Client
from prtrace.config import new_token
from prtrace.demo.server import ServerProcess
from prtrace.trace import Trace
from tests.support.export_dataset import make_dataset, settings_for, trace_events
from tests.support.research_support import command, make_trace, opened, thought

COUNT = 10_000
REPO = "https://example.com/export-10k.git"
MB = 1024 * 1024


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, list[str]]:
    home = tmp_path_factory.mktemp("export-10k") / "home"
    token = new_token("pta_")
    return home, token, make_dataset(home, token, COUNT, REPO)


def _check_round_trip(line: bytes, expected_id: str, index: int) -> None:
    trace = msgspec.json.decode(line, type=Trace)  # strict: the trace format's own types
    assert trace.trace_id == expected_id
    assert trace.events == trace_events(index)
    assert trace.status == "sealed" and trace.artifacts.final_patch
    again = msgspec.json.decode(msgspec.json.encode(trace), type=Trace)
    assert again == trace


def _rss(pid: int) -> int:
    for row in Path(f"/proc/{pid}/status").read_text().splitlines():
        if row.startswith("VmRSS:"):
            return int(row.split()[1]) * 1024
    raise AssertionError("no VmRSS")


@pytest.mark.slow
def test_export_10k_server_generator_constant_memory(dataset: tuple[Path, str, list[str]]) -> None:
    home, token, made = dataset

    async def run() -> dict[str, int]:
        services = await Services.open(settings_for(home, token))
        seen = 0
        marks: dict[str, int] = {}
        try:
            tracemalloc.start()
            async for line in services.traces.iter_documents(TraceFilters(repository=REPO)):
                _check_round_trip(line, made[seen], seen)
                seen += 1
                if seen == 1_000:
                    marks["base"] = tracemalloc.get_traced_memory()[0]
                    tracemalloc.reset_peak()
            marks["end"], marks["peak"] = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
            await services.close()
        marks["seen"] = seen
        return marks

    marks = asyncio.run(run())
    assert marks["seen"] == COUNT
    # 9,000 more documents of ~4 KB each passed after "base": holding them would
    # be ~36 MB. Constant memory means neither the level nor the peak moves.
    assert marks["end"] - marks["base"] < 2 * MB, marks
    assert marks["peak"] - marks["base"] < 4 * MB, marks
    print(
        f"server generator: growth {(marks['end'] - marks['base']) / MB:.2f} MB, "
        f"peak over base {(marks['peak'] - marks['base']) / MB:.2f} MB"
    )


@pytest.mark.slow
def test_export_10k_over_http_server_rss_and_cli_constant(
    dataset: tuple[Path, str, list[str]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    home, token, made = dataset
    server = ServerProcess(home, api_token=token, env={"PRTRACE_QA_ON_FINALIZE": "false"})
    server.start()
    try:
        assert server.process is not None
        pid = server.process.pid
        # The server process: RSS after 1,000 streamed traces and at the end.
        rss: dict[str, int] = {}
        with Client(server.url, token) as client:
            for i, line in enumerate(client.export(repository=REPO), 1):
                if i == 1_000:
                    rss["base"] = _rss(pid)
                if i % 2_000 == 0:
                    rss["max"] = max(rss.get("max", 0), _rss(pid))
            rss["end"] = _rss(pid)
        assert i == COUNT
        growth = max(rss["max"], rss["end"]) - rss["base"]
        print(
            f"server RSS: {rss['base'] / MB:.1f} MB after 1,000, growth {growth / MB:.1f} MB to {COUNT}"
        )
        assert growth < 16 * MB, rss

        # The CLI: peak traced memory for ~1/7 of the traces and for all of them.
        monkeypatch.setenv("PRTRACE_URL", server.url)
        monkeypatch.setenv("PRTRACE_API_TOKEN", token)
        peaks = {}
        for name, extra in (("part", ["--developer", "dev0"]), ("all", [])):
            out = tmp_path / f"{name}.jsonl"
            tracemalloc.start()
            try:
                code = prtrace_main(
                    ["trace", "export", "--repository", REPO, *extra, "-o", str(out)]
                )
                peaks[name] = tracemalloc.get_traced_memory()[1]
            finally:
                tracemalloc.stop()
            assert code == 0
        print(f"CLI peak: {peaks['part'] / MB:.2f} MB for 1/7, {peaks['all'] / MB:.2f} MB for all")
        assert peaks["all"] - peaks["part"] < 4 * MB, peaks
        assert "exported 10000 traces" in capsys.readouterr().err
        with open(tmp_path / "all.jsonl", "rb") as f:
            for index, line in enumerate(f):
                _check_round_trip(line.rstrip(b"\n"), made[index], index)
        assert index + 1 == COUNT
        part = (tmp_path / "part.jsonl").read_bytes().splitlines()
        assert [json.loads(line)["trace_id"] for line in part] == made[0::7]
    finally:
        server.stop()


# --- shaping: types and max_output_bytes ------------------------------------------------


def test_export_types_and_max_output_bytes(prtrace_server: ServerProcess) -> None:
    big = "x" * 100_000 + "é" * 10  # over the blob threshold: comes back from the blob store
    events: list[Any] = [
        opened(1, "a.py"),
        command(2, "pytest", 1, stdout=big),
        thought(3, "short"),
        command(4, "ls", 0, stdout="a.py\n"),
        ev.TerminalCommand(
            id="cmd5",
            t=thought(5, "").t,
            session_id="s",
            cmd="make",
            stdout="o" * 50,
            stderr="e" * 700,
            exit_code=2,
        ),
    ]
    with Client(prtrace_server.url, prtrace_server.api_token) as client:
        trace_id = make_trace(client, events, repository="https://example.com/shape.git")

        def exported(**options: Any) -> Trace:
            lines = list(client.export(repository="https://example.com/shape.git", **options))
            assert len(lines) == 1
            return msgspec.json.decode(lines[0], type=Trace)

        whole = exported()
        assert whole.trace_id == trace_id and whole.events == events

        only = exported(types="terminal_command,thought")
        assert [e.id for e in only.events] == ["cmd2", "th3", "cmd4", "cmd5"]
        assert exported(types=["file_opened"]).events == [events[0]]

        capped = exported(max_output_bytes=100)
        by_id = {e.id: e for e in capped.events}
        first = by_id["cmd2"]
        assert first.stdout == "x" * 100 + trim_marker(100, len(big.encode()))
        assert first.truncated and first.output_bytes == len(big.encode())
        assert by_id["cmd4"] == events[3]  # under the cap: untouched
        assert by_id["cmd5"].stdout == "o" * 50  # one field under, the other over
        assert by_id["cmd5"].stderr == "e" * 100 + trim_marker(100, 700)
        assert by_id["cmd5"].output_bytes == 750
        assert by_id["op1"] == events[0] and by_id["th3"] == events[2]

        # A cut inside a two-byte character keeps whole characters only.
        edge = exported(max_output_bytes=100_001)
        assert edge.events[1].stdout.startswith("x" * 100_000 + "\n[prtrace")

        dropped = exported(max_output_bytes=0, types="terminal_command")
        assert [e.stdout for e in dropped.events] == ["", "", ""]
        assert all(e.truncated for e in dropped.events)

        # The stored trace is untouched by any of this.
        assert client.get_trace(trace_id).events == events


def test_export_cli_types_and_cap(
    prtrace_server: ServerProcess, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with Client(prtrace_server.url, prtrace_server.api_token) as client:
        make_trace(
            client,
            [command(1, "pytest", 1, stdout="y" * 500), thought(2, "n")],
            repository="https://example.com/cli-shape.git",
        )
    monkeypatch.setenv("PRTRACE_URL", prtrace_server.url)
    monkeypatch.setenv("PRTRACE_API_TOKEN", prtrace_server.api_token)
    out = tmp_path / "x.jsonl"
    assert (
        prtrace_main(
            [
                "trace",
                "export",
                "--repository",
                "https://example.com/cli-shape.git",
                "--types",
                "terminal_command",
                "--max-output-bytes",
                "10",
                "-o",
                str(out),
            ]
        )
        == 0
    )
    trace = msgspec.json.decode(out.read_bytes().strip(), type=Trace)
    assert len(trace.events) == 1 and isinstance(trace.events[0], ev.TerminalCommand)
    assert trace.events[0].stdout.startswith("y" * 10 + "\n[prtrace export")
    assert prtrace_main(["trace", "export", "--max-output-bytes", "-1"]) == 2
