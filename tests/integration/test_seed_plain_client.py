"""A client written against the seed alone (issue 14): plain ``urllib``, no prtrace code.

It knows the seed's README and example document and nothing else: it creates a
trace from the example's developer, task and environment, sends the example's
five events (without ids), finalizes with the example's artifacts and reads the
trace back with ``?format=seed``. What it sent must come back value for value;
the only additions are what a server adds (ids, times, status, qa). The server
is a real ``prtrace serve`` on loopback (the fixture is the only prtrace part).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

EXAMPLE = Path(__file__).parents[1] / "support" / "seed" / "trace-example.json"


class SeedClient:
    def __init__(self, url: str, token: str) -> None:
        self.url = url.rstrip("/")
        self.token = token

    def call(self, method: str, path: str, body: Any = None, token: str | None = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data=data, method=method)
        request.add_header("Authorization", f"Bearer {token or self.token}")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=60) as answer:
                return answer.status, json.loads(answer.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read())


def test_a_plain_client_of_the_seed_round_trips_its_example(module_prtrace_server) -> None:
    example = json.loads(EXAMPLE.read_text())
    seed = SeedClient(module_prtrace_server.url, module_prtrace_server.api_token)

    status, created = seed.call(
        "POST", "/traces", {k: example[k] for k in ("developer", "task", "environment")}
    )
    assert status == 201, created
    trace_id, upload = created["trace_id"], created["upload_token"]
    status, accepted = seed.call(
        "POST", f"/traces/{trace_id}/events", {"seq": 0, "events": example["events"]}, upload
    )
    assert status == 200, accepted
    status, sealed = seed.call(
        "POST", f"/traces/{trace_id}/finalize", {"artifacts": example["artifacts"]}, upload
    )
    assert status == 200, sealed
    status, trace = seed.call("GET", f"/traces/{trace_id}?format=seed")
    assert status == 200, trace

    assert trace["version"] == example["version"] == "trace-1.0.0"
    # The server's attribution of the final patch, under the artifacts' `prtrace` object.
    assert "lines" in trace["artifacts"].pop("prtrace")["attribution"]
    for key in ("developer", "task", "environment", "artifacts"):
        assert trace[key] == example[key], key
    for got, sent in zip(trace["events"], example["events"], strict=True):
        assert isinstance(got.pop("id"), str)  # the server's, for an event sent without one
        assert got == sent
    # Only what a server adds besides: its trace id and time, the state, the QA block.
    added = set(trace) - set(example)
    assert added <= {"status", "sealed_at"}, added
    assert set(example) - set(trace) == set()
    assert isinstance(trace["trace_id"], str) and trace["created_at"].endswith("Z")
    assert trace["qa"] == {"status": "none"}

    # The same batch again (a retry whose answer was lost): a no-op, even once sealed.
    status, again = seed.call(
        "POST", f"/traces/{trace_id}/events", {"seq": 0, "events": example["events"]}, upload
    )
    assert status == 200 and again["duplicate"] is True and again["accepted"] == 0, again
    status, trace = seed.call("GET", f"/traces/{trace_id}?format=seed")
    assert len(trace["events"]) == 5
    status, listed = seed.call("GET", "/traces?developer=string")
    assert status == 200 and trace_id in [t["trace_id"] for t in listed["traces"]]
