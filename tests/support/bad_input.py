"""What the bad-input tests send that is good: a trace, a batch of thoughts (the API
tests of tests/unit/test_api_bad_input.py and, on PostgreSQL,
tests/integration/test_api_bad_input_postgres.py)."""

from __future__ import annotations

import json
from typing import Any

import httpx


def thought(event_id: str, raw: str = "a note") -> dict[str, Any]:
    return {
        "type": "thought",
        "id": event_id,
        "t": "2024-05-01T10:00:00Z",
        "session_id": "ses_bad",
        "raw": raw,
        "tags": ["x"],
    }


GOOD = [thought("good-0", "first"), thought("good-1", "second"), thought("good-2", "third")]
"""The batch every case's trace holds before the bad request (seq 0)."""


def j(value: Any) -> bytes:
    return json.dumps(value).encode()


def create_trace(http: httpx.Client, developer: str, api_token: str) -> tuple[str, str]:
    response = http.post(
        "/traces",
        headers={"Authorization": f"Bearer {api_token}"},
        json={
            "developer": {"id": developer},
            "task": {"repository": "https://example.com/bad-input.git", "commit": "abcd1234"},
        },
    )
    assert response.status_code == 201, response.text
    return response.json()["trace_id"], response.json()["upload_token"]


def send_good(
    http: httpx.Client, trace_id: str, token: str, seq: int, events: list[dict[str, Any]]
) -> httpx.Response:
    return http.post(
        f"/traces/{trace_id}/events",
        content=j({"seq": seq, "events": events}),
        headers={"Authorization": f"Bearer {token}"},
    )
