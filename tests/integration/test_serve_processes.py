"""``prtrace serve --processes N``: several server processes on one port and one
SQLite file (migrations and the API token prepared once by the parent)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

from prtrace.client import Client
from prtrace.demo.server import ServerProcess
from prtrace.events import Thought
from prtrace.trace import Developer, Task

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def test_two_server_processes_share_one_database(tmp_path: Path) -> None:
    server = ServerProcess(
        tmp_path / "home",
        serve_args=["--processes", "2"],
        env={"PRTRACE_QA_ON_FINALIZE": "false", "PRTRACE_WORKERS": "0"},
    )
    server.start()
    try:
        with Client(server.url, server.api_token) as api:
            created = api.create_trace(
                developer=Developer(id="p"), task=Task(repository="r", commit="abcd")
            )

        def upload(seq: int) -> int:
            events = [
                Thought(id=f"e{seq}-{i}", t=T0 + timedelta(seconds=seq), session_id="s", raw="x")
                for i in range(100)
            ]
            with Client(server.url, created.upload_token) as client:  # a connection of its own
                return client.upload_events(created.trace_id, seq, events).accepted

        with ThreadPoolExecutor(8) as pool:
            accepted = list(pool.map(upload, range(40)))
        with Client(server.url, server.api_token) as api:
            trace = api.get_trace(created.trace_id)
        workers = server.log_tail(200).count("Started server process")
    finally:
        server.stop()
    assert accepted == [100] * 40
    assert [e.id for e in trace.events] == [f"e{s}-{i}" for s in range(40) for i in range(100)]
    assert workers == 2, "uvicorn did not start two server processes"
