"""Bad input that only PostgreSQL refuses: NUL in text, against the backend's app in
process on a real PostgreSQL (the other bad input is in tests/unit/test_api_bad_input.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.app_server import AppServer
from tests.support.bad_input import GOOD, create_trace, send_good, thought


@pytest.mark.postgres
def test_nul_in_text_is_a_4xx_on_postgresql(pg_url: str, tmp_path: Path) -> None:
    """PostgreSQL refuses NUL (U+0000) in text columns: a client's mistake, so a
    4xx with nothing stored, never the 500 it was."""
    with (
        AppServer(tmp_path / "prtrace-home", env={"PRTRACE_DATABASE_URL": pg_url}) as server,
        server.http(timeout=60) as http,
    ):
        api = {"Authorization": f"Bearer {server.api_token}"}
        trace_id, token = create_trace(http, "pg-nul", server.api_token)
        assert send_good(http, trace_id, token, 0, GOOD).status_code == 200

        bad_batch = send_good(http, trace_id, token, 1, [thought("ok-1"), thought("nul\u0000id")])
        bad_create = http.post(
            "/traces",
            headers=api,
            json={
                "developer": {"id": "nul\u0000dev"},
                "task": {"repository": "r", "commit": "abcd1234"},
            },
        )
        bad_list = http.get("/traces", headers=api, params={"developer": "a\u0000b"})
        bad_after = http.get(
            f"/traces/{trace_id}/events", headers=api, params={"after": "a\u0000b"}
        )
        for response in (bad_batch, bad_create, bad_list, bad_after):
            assert response.status_code == 422, response.text
            assert "NUL" in response.json()["detail"]

        assert http.get(f"/traces/{trace_id}/events", headers=api).json()["events"] == GOOD
        assert [t["trace_id"] for t in http.get("/traces", headers=api).json()["traces"]] == [
            trace_id
        ]
        again = send_good(http, trace_id, token, 1, [thought("ok-1"), thought("ok-2")])
        assert again.status_code == 200 and again.json()["accepted"] == 2
    assert "internal error" not in server.log_text()
