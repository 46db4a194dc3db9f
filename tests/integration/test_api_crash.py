"""``kill -9`` of a real ``prtrace serve``: an acknowledged batch is durable.

After a crash and a restart on the same home, every acknowledged event is
there exactly once and in order, a retry of an acknowledged batch is a
duplicate no-op, and a client that keeps uploading through the crash (a
thread retrying unacknowledged batches with the same seq) ends with every
event exactly once.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import msgspec
import pytest

from prtrace import events as ev
from prtrace.client import APIError, Client
from prtrace.demo.server import ServerProcess
from prtrace.hashing import text_hash
from prtrace.trace import Developer, Task

START = datetime(2024, 6, 1, 8, 0, tzinfo=UTC)
WAIT = 120.0
"""Only a guard against hanging forever; no test depends on how fast anything is."""


def batch_events(seq: int, n: int, *, big: bool = False) -> list[ev.Event]:
    """Deterministic events for batch ``seq`` (same seq, same bytes)."""
    out: list[ev.Event] = []
    for i in range(n):
        t = START + timedelta(seconds=seq * 1000 + i)
        eid = f"b{seq:04d}-{i:04d}"
        if i % 3 == 0:
            out.append(ev.Thought(id=eid, t=t, session_id="ses_crash", raw=f"note {seq}/{i}"))
        elif i % 3 == 1:
            before, after = f"v = {i}\n", f"v = {i + 1}\n"
            out.append(
                ev.Edit(
                    id=eid,
                    t=t,
                    session_id="ses_crash",
                    path="m.py",
                    op="replace",
                    patch_unified=f"@@ -1 +1 @@\n-{before}+{after}",
                    before_hash=text_hash(before),
                    after_hash=text_hash(after),
                )
            )
        else:
            out.append(
                ev.TerminalCommand(
                    id=eid,
                    t=t,
                    session_id="ses_crash",
                    cmd="pytest -q",
                    exit_code=i % 2,
                    stdout=f"{seq}/{i} passed\n",
                )
            )
    if big:
        stdout = "".join(f"line {k} of seq {seq}: ✓ ok\n" for k in range(6000))  # > 64 KiB
        out.append(
            ev.TerminalCommand(
                id=f"b{seq:04d}-big",
                t=START + timedelta(seconds=seq * 1000 + n),
                session_id="ses_crash",
                cmd="pytest -v",
                stdout=stdout,
            )
        )
    return out


def ids(events: list[Any]) -> list[str]:
    return [e["id"] if isinstance(e, dict) else e.id for e in events]


def as_json(events: list[ev.Event]) -> list[dict[str, Any]]:
    return msgspec.json.decode(msgspec.json.encode(events))


def create(server: ServerProcess) -> tuple[str, str]:
    with Client(server.url, server.api_token) as client:
        created = client.create_trace(
            developer=Developer(id="crash"),
            task=Task(repository="https://example.com/crash.git", commit="abcd1234"),
        )
    return created.trace_id, created.upload_token


def post_batch(
    server: ServerProcess, trace_id: str, token: str, seq: int, events: list[Any]
) -> httpx.Response:
    return httpx.post(
        f"{server.url}/traces/{trace_id}/events",
        content=msgspec.json.encode({"seq": seq, "events": events}),
        headers={"Authorization": f"Bearer {token}"},
        timeout=60,
    )


def all_events(server: ServerProcess, trace_id: str, page: int = 500) -> list[dict[str, Any]]:
    """Every stored event, following ``next_after`` page by page."""
    out: list[dict[str, Any]] = []
    after = None
    with httpx.Client(
        base_url=server.url, headers={"Authorization": f"Bearer {server.api_token}"}, timeout=60
    ) as http:
        while True:
            params: dict[str, Any] = {"limit": page}
            if after:
                params["after"] = after
            body = http.get(f"/traces/{trace_id}/events", params=params).json()
            out.extend(body["events"])
            after = body["next_after"]
            if after is None:
                return out


def summary_count(server: ServerProcess, trace_id: str) -> int:
    with Client(server.url, server.api_token) as client:
        return next(
            s.events for s in client.iter_traces(developer="crash") if s.trace_id == trace_id
        )


def assert_dead(server: ServerProcess) -> None:
    assert server.process is not None and server.process.poll() is not None
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{server.url}/healthz", timeout=5)


# --- crash after acknowledged batches ----------------------------------------------------


def test_kill9_after_acknowledged_batches_keeps_every_event_once(
    prtrace_server: ServerProcess,
) -> None:
    server = prtrace_server
    trace_id, token = create(server)
    batches = [batch_events(0, 40), batch_events(1, 60, big=True), batch_events(2, 25)]
    for seq, batch in enumerate(batches):
        response = post_batch(server, trace_id, token, seq, batch)
        assert response.status_code == 200, response.text
        assert response.json()["accepted"] == len(batch)
    acknowledged = [e for batch in batches for e in batch]

    server.kill9()
    assert_dead(server)
    server.restart()

    stored = all_events(server, trace_id, page=37)
    assert ids(stored) == ids(acknowledged)  # all there, in order, none twice
    assert stored == as_json(acknowledged)  # and whole (the big stdout from the blob store)
    assert summary_count(server, trace_id) == len(acknowledged)

    # A retry of the last acknowledged batch is a duplicate no-op...
    retry = post_batch(server, trace_id, token, 2, batches[2])
    assert retry.status_code == 200
    assert retry.json() == {"trace_id": trace_id, "seq": 2, "accepted": 0, "duplicate": True}
    # ...and the stored batch is still recognised: other events under its seq are 409.
    assert post_batch(server, trace_id, token, 2, batch_events(9, 3)).status_code == 409
    # The stored ids are still taken.
    reused = post_batch(server, trace_id, token, 3, [batch_events(0, 1)[0]])
    assert reused.status_code == 422 and reused.json()["field"] == "events[0].id"
    assert ids(all_events(server, trace_id)) == ids(acknowledged)

    # The trace goes on as if nothing happened, and seals whole.
    assert post_batch(server, trace_id, token, 3, batch_events(3, 5)).status_code == 200
    final = httpx.post(
        f"{server.url}/traces/{trace_id}/finalize", headers={"Authorization": f"Bearer {token}"}
    )
    assert final.status_code == 200 and final.json()["events"] == len(acknowledged) + 5
    with Client(server.url, server.api_token) as client:
        trace = client.get_trace(trace_id)
    assert trace.status == "sealed"
    assert trace.events == [*acknowledged, *batch_events(3, 5)]


def test_kill9_after_finalize_keeps_the_trace_sealed(prtrace_server: ServerProcess) -> None:
    server = prtrace_server
    trace_id, token = create(server)
    events = batch_events(0, 30, big=True)
    assert post_batch(server, trace_id, token, 0, events).status_code == 200
    patch = "diff --git a/m.py b/m.py\n--- a/m.py\n+++ b/m.py\n@@ -1 +1 @@\n-v = 1\n+v = 2\n"
    auth = {"Authorization": f"Bearer {token}"}
    final = httpx.post(
        f"{server.url}/traces/{trace_id}/finalize",
        json={"artifacts": {"final_patch": patch}},
        headers=auth,
    )
    assert final.status_code == 200

    server.kill9()
    assert_dead(server)
    server.restart()

    api = {"Authorization": f"Bearer {server.api_token}"}
    document = httpx.get(f"{server.url}/traces/{trace_id}", headers=api).json()
    assert document["status"] == "sealed"
    assert document["artifacts"].pop("attribution")["lines"]["agent"] == 0
    assert document["artifacts"] == {"final_patch": patch}
    assert document["events"] == as_json(events)
    assert post_batch(server, trace_id, token, 1, batch_events(1, 2)).status_code == 409
    again = httpx.post(
        f"{server.url}/traces/{trace_id}/finalize",
        json={"artifacts": {"final_patch": patch}},
        headers=auth,
    )
    assert again.status_code == 200
    assert again.json()["sealed_at"] == final.json()["sealed_at"]
    assert again.json()["events"] == len(events)


# --- crash while a client uploads ---------------------------------------------------------


class Uploader(threading.Thread):
    """Uploads batch after batch with the Python client; on a transport error it
    retries the same seq with the same events until the server acknowledges it.
    Stops (after finishing its current batch) when ``stop`` is set."""

    def __init__(self, server: ServerProcess, trace_id: str, token: str, size: int) -> None:
        super().__init__(daemon=True)
        self.server, self.trace_id, self.token, self.size = server, trace_id, token, size
        self.acked: dict[int, Any] = {}
        self.errors_at: list[int] = []
        self.fatal: BaseException | None = None
        self.progress = threading.Condition()
        self.saw_error = threading.Event()
        self.stop = threading.Event()

    def wait_for(self, n: int) -> None:
        with self.progress:
            assert self.progress.wait_for(
                lambda: len(self.acked) >= n or self.fatal is not None, WAIT
            ), f"only {len(self.acked)} batches acknowledged"
        assert self.fatal is None, self.fatal

    def run(self) -> None:
        try:
            with Client(self.server.url, self.server.api_token, timeout=30) as client:
                seq = 0
                while not self.stop.is_set():
                    events = batch_events(seq, self.size)
                    while True:
                        try:
                            answer = client.upload_events(
                                self.trace_id, seq, events, token=self.token
                            )
                            break
                        except APIError as exc:
                            if not exc.retryable:
                                raise
                            self.errors_at.append(seq)
                            self.saw_error.set()
                            self.stop.wait(0.05)
                    with self.progress:
                        self.acked[seq] = answer
                        self.progress.notify_all()
                    seq += 1
        except BaseException as exc:  # reported by the test
            self.fatal = exc
            with self.progress:
                self.progress.notify_all()


@pytest.fixture
def uploader_cleanup() -> Iterator[list[Uploader]]:
    threads: list[Uploader] = []
    yield threads
    for thread in threads:
        thread.stop.set()
        thread.join(WAIT)


def test_kill9_while_a_client_uploads_then_retries(
    prtrace_server: ServerProcess, uploader_cleanup: list[Uploader]
) -> None:
    server = prtrace_server
    trace_id, token = create(server)
    uploader = Uploader(server, trace_id, token, size=150)
    uploader_cleanup.append(uploader)
    uploader.start()

    uploader.wait_for(8)
    server.kill9()  # the uploader is still in its loop: it only stops when told
    assert uploader.saw_error.wait(WAIT), "the uploader never noticed the crash"
    assert uploader.fatal is None, uploader.fatal
    acked_before_restart = dict(uploader.acked)
    server.restart()

    uploader.wait_for(len(acked_before_restart) + 8)
    uploader.stop.set()
    uploader.join(WAIT)
    assert not uploader.is_alive()
    assert uploader.fatal is None, uploader.fatal

    # The client went through the crash: errors happened, and it kept going.
    assert uploader.errors_at
    assert len(uploader.acked) >= len(acked_before_restart) + 8
    seqs = sorted(uploader.acked)
    assert seqs == list(range(len(seqs)))

    # Every acknowledged batch is stored exactly once, in order, and nothing else.
    expected = [e for seq in seqs for e in batch_events(seq, uploader.size)]
    stored = all_events(server, trace_id, page=1000)
    stored_ids = ids(stored)
    assert len(stored_ids) == len(set(stored_ids)), "an event is stored twice"
    assert stored_ids == ids(expected)
    assert stored == as_json(expected)
    assert summary_count(server, trace_id) == len(expected)

    # Each answer was a first store, or (only for a batch in flight at the
    # crash, whose commit beat the kill) a duplicate: never both, never other.
    for seq, answer in uploader.acked.items():
        if answer.duplicate:
            assert seq in uploader.errors_at, seq
            assert answer.accepted == 0
        else:
            assert answer.accepted == uploader.size

    # A retry of the last acknowledged batch is a no-op.
    last = seqs[-1]
    retry = post_batch(server, trace_id, token, last, batch_events(last, uploader.size))
    assert retry.status_code == 200 and retry.json()["duplicate"] is True
    assert len(all_events(server, trace_id, page=1000)) == len(expected)
