"""Session, spool and uploader against a real ``prtrace serve``: every event arrives
exactly once — with the backend down for a while, after a crash between send and
acknowledgement, and after ``kill -9`` of a proxy."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import msgspec

from prtrace.client import Client
from prtrace.recorder.pipeline.spool import Spool, spool_path
from prtrace.recorder.pipeline.uploader import Uploader
from prtrace.recorder.session.state import load_session
from tests.support.lsp_support import FAKE_SERVER, LspClient, proxy_env, prtrace_cmd, spooled_events

FAKE = FAKE_SERVER


def _env(ws: Path, server) -> dict[str, str]:
    return proxy_env(ws, PRTRACE_URL=server.url, PRTRACE_API_TOKEN=server.api_token)


def _cli(ws: Path, server, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*prtrace_cmd(), *args],
        check=False,
        env=_env(ws, server),
        cwd=ws,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _start_session(ws: Path, server) -> dict:
    done = _cli(
        ws,
        server,
        "record",
        "start",
        "--repository",
        "https://example.com/r.git",
        "--commit",
        "abcd1234",
        "--task",
        "T-1",
        "--developer",
        "dev@example.com",
        "--no-daemon",  # these tests count the proxy's events only
        "--json",
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _proxy(ws: Path, server, *flags: str) -> LspClient:
    argv = [
        *prtrace_cmd(),
        "lsp",
        *flags,
        "--",
        sys.executable,
        str(FAKE),
        str(ws / ".in.bin"),
        str(ws / ".out.bin"),
    ]
    return LspClient(argv, env=_env(ws, server), cwd=ws)


def _navigate(client: LspClient, ws: Path, name: str, n: int) -> None:
    uri = (ws / name).as_uri()
    client.notify(
        "textDocument/didOpen",
        {
            "textDocument": {
                "uri": uri,
                "languageId": "python",
                "version": 1,
                "text": "def f():\n    pass\nf()\n",
            }
        },
    )
    for _ in range(n):
        client.request(
            "textDocument/definition",
            {"textDocument": {"uri": uri}, "position": {"line": 2, "character": 0}},
        )


def _wait(predicate, timeout: float = 60.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def _trace_event_ids(server, trace_id: str) -> list[str]:
    with Client(server.url, server.api_token) as api:
        return [e.id for e in api.iter_events(trace_id)]


def _status(ws: Path, server) -> dict:
    done = _cli(ws, server, "record", "status", "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_record_start_proxy_note_stop(tmp_path: Path, prtrace_server) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    # A proxy started before the session: it forwards and spools anyway.
    early = _proxy(ws, prtrace_server)
    early.initialize(ws)
    _navigate(early, ws, "early.py", 2)
    assert early.shutdown() == 0
    assert len(spooled_events(ws)) == 3

    started = _start_session(ws, prtrace_server)
    trace_id = started["trace_id"]
    assert "upload_token" not in started
    session_file = ws / ".prtrace" / "session.json"
    assert stat.S_IMODE(session_file.stat().st_mode) == 0o600
    assert (ws / ".prtrace" / ".gitignore").read_text() == "*\n"
    assert load_session(ws).trace_id == trace_id

    client = _proxy(ws, prtrace_server)
    client.initialize(ws)
    _navigate(client, ws, "main.py", 5)
    noted = _cli(ws, prtrace_server, "note", "the bug is in f", "--tag", "hypothesis", "--json")
    assert noted.returncode == 0, noted.stderr
    assert json.loads(noted.stdout)["trace_id"] == trace_id
    assert client.shutdown() == 0

    status = _status(ws, prtrace_server)
    assert status["trace_id"] == trace_id and status["backend"]["reachable"] is True
    assert status["events"]["spooled"] == 3 + 6 + 1

    stopped = _cli(ws, prtrace_server, "record", "stop", "--json")
    assert stopped.returncode == 0, stopped.stderr
    assert json.loads(stopped.stdout)["status"] == "sealed"
    assert not session_file.exists()

    spooled = spooled_events(ws)
    assert _trace_event_ids(prtrace_server, trace_id) == [e["id"] for e in spooled]
    with Client(prtrace_server.url, prtrace_server.api_token) as api:
        trace = api.get_trace(trace_id)
    assert trace.task.id == "T-1" and trace.task.commit == "abcd1234"
    thought = [e for e in trace.events if type(e).__name__ == "Thought"]
    assert thought[0].raw == "the bug is in f" and thought[0].tags == ["hypothesis"]
    assert _status(ws, prtrace_server)["recording"] is False


def test_backend_down_then_up_every_event_once(tmp_path: Path, prtrace_server) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    trace_id = _start_session(ws, prtrace_server)["trace_id"]
    prtrace_server.kill9()

    # Recorded while the backend is down: spooled, retried with backoff.
    client = _proxy(ws, prtrace_server)
    client.initialize(ws)
    _navigate(client, ws, "a.py", 30)
    _wait(lambda: len(spooled_events(ws)) == 31, what="events spooled")
    time.sleep(1.5)  # a few failed upload rounds
    status = _status(ws, prtrace_server)
    assert status["backend"]["reachable"] is False
    assert status["events"]["uploaded"] == 0
    assert status["last_error"]

    prtrace_server.start()
    _navigate(client, ws, "b.py", 10)
    _wait(lambda: len(spooled_events(ws)) == 42, what="events spooled")
    _wait(lambda: _status(ws, prtrace_server)["events"]["uploaded"] == 42, what="upload")
    assert client.shutdown() == 0

    ids = _trace_event_ids(prtrace_server, trace_id)
    assert ids == [e["id"] for e in spooled_events(ws)]
    assert len(set(ids)) == len(ids) == 42


def test_resend_after_crash_between_send_and_ack_is_a_no_op(tmp_path: Path, prtrace_server) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    trace_id = _start_session(ws, prtrace_server)["trace_id"]
    session = load_session(ws)
    with Spool.for_workspace(ws) as spool:
        spool.append([_thought(i) for i in range(5)])
        batch = spool.next_batch(trace_id)
        assert batch is not None
    # The batch reached the server, but the process died before marking it delivered.
    with Client(session.url, session.upload_token) as api:
        api.upload_events(trace_id, batch.seq, [msgspec.Raw(e) for e in batch.events])
    with Spool.for_workspace(ws) as spool:
        spool.append([_thought(i) for i in range(5, 8)])
    uploader = Uploader(ws)
    try:
        assert uploader.drain().outcome == "done"
    finally:
        uploader.close()
    ids = _trace_event_ids(prtrace_server, trace_id)
    assert ids == [f"ses_manual-{i}" for i in range(8)]


def _thought(i: int) -> bytes:
    return json.dumps(
        {
            "type": "thought",
            "id": f"ses_manual-{i}",
            "t": "2026-01-01T00:00:00Z",
            "session_id": "ses_manual",
            "raw": f"n{i}",
        }
    ).encode()


def test_kill9_of_a_proxy_next_process_uploads(tmp_path: Path, prtrace_server) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    trace_id = _start_session(ws, prtrace_server)["trace_id"]
    prtrace_server.kill9()  # nothing can be uploaded while the first proxy lives

    first = _proxy(ws, prtrace_server)
    first.initialize(ws)
    _navigate(first, ws, "a.py", 12)
    _wait(lambda: len(spooled_events(ws)) == 13, what="events spooled")
    os.kill(first.proc.pid, signal.SIGKILL)
    first.proc.wait(10)
    spooled_before = [e["id"] for e in spooled_events(ws)]

    prtrace_server.start()
    second = _proxy(ws, prtrace_server)
    second.initialize(ws)
    _wait(lambda: _status(ws, prtrace_server)["events"]["uploaded"] >= 13, what="upload")
    assert second.shutdown() == 0

    ids = _trace_event_ids(prtrace_server, trace_id)
    assert ids[:13] == spooled_before
    assert len(set(ids)) == len(ids)
    assert spool_path(ws).exists()


def test_events_after_stop_wait_for_the_next_session(tmp_path: Path, prtrace_server) -> None:
    from prtrace.recorder.session.state import save_session, session_path

    ws = tmp_path / "ws"
    ws.mkdir()
    first = _start_session(ws, prtrace_server)["trace_id"]
    stale = load_session(ws)
    assert _cli(ws, prtrace_server, "record", "stop").returncode == 0

    # A process that read the session before it stopped uploads to the sealed trace:
    # the server refuses (409), the events go back to the pool, the trace is closed.
    save_session(ws, stale)
    with Spool.for_workspace(ws) as spool:
        spool.append([_thought(i) for i in range(3)])
    uploader = Uploader(ws)
    try:
        assert uploader.drain().outcome == "closed"
        assert uploader.drain().outcome == "closed"  # and stays closed
    finally:
        uploader.close()
    session_path(ws).unlink()
    assert _status(ws, prtrace_server)["events"]["unsent"] == 3

    second = _start_session(ws, prtrace_server)["trace_id"]
    assert second != first
    assert _trace_event_ids(prtrace_server, second) == [f"ses_manual-{i}" for i in range(3)]
    assert _trace_event_ids(prtrace_server, first) == []
