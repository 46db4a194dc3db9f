"""The web viewer's routes without a browser, against the backend's app in process
(``AppServer``): the static files need no token, the overview needs the API token
(the viewer in headless Chromium is in tests/e2e/test_research_viewer.py)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from prtrace.client import Client
from prtrace.patches import make_patch
from tests.support.app_server import AppServer
from tests.support.research_support import make_trace, thought


@pytest.fixture
def prtrace_server(tmp_path: Path) -> Iterator[AppServer]:
    """The app as the ``prtrace_server`` fixture would run it, in this process."""
    with AppServer(tmp_path / "prtrace-home") as server:
        yield server


def test_ui_routes_without_browser(prtrace_server: AppServer) -> None:
    """The static files need no token; the overview needs the API token."""
    server = prtrace_server
    page = server.client.get(f"{server.url}/ui/")
    assert page.status_code == 200 and "prtrace viewer" in page.text
    assert server.client.get(f"{server.url}/ui/app.js").status_code == 200
    assert server.client.get(f"{server.url}/ui/api/traces/tr_nope").status_code == 401
    missing = server.client.get(
        f"{server.url}/ui/api/traces/tr_nope",
        headers={"Authorization": f"Bearer {server.api_token}"},
    )
    assert missing.status_code == 404
    with Client(server.url, server.api_token, transport=server.transport()) as client:
        trace_id = make_trace(client, [thought(1, "x")], final_patch=make_patch("a\n", "b\n", "f"))
    body = server.client.get(
        f"{server.url}/ui/api/traces/{trace_id}",
        headers={"Authorization": f"Bearer {server.api_token}"},
    ).json()
    assert body["event_count"] == 1 and body["artifacts"]["final_patch"].startswith("--- a/f")
    assert body["qa"] == {"status": "none"}
    assert json.dumps(body)  # plain JSON
