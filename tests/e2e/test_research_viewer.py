"""The web viewer (issue 7) in headless Chromium against a real ``prtrace serve``.

The browser logs in with the API token, finds the trace in the list with its
verdict and score, opens it, and finds its events, an edit's rendered diff, a
failing command with its exit code and expandable output, the test results and
the judge's scores whose evidence links jump to events. A 20,000-event trace
opens with one page of events in the page and loads more as it scrolls.
Screenshots are kept under ``test-artifacts/``.

Chromium is Debian's (``./dev test`` installs it): missing, the tests skip on a
developer's machine and fail in CI.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from prtrace import events as ev
from prtrace.client import Client
from prtrace.demo.server import ServerProcess
from prtrace.hashing import text_hash
from prtrace.patches import make_patch
from tests.support.cdp import Browser, find_chromium
from tests.support.research_support import START, command, make_trace, opened, set_qa, thought
from tests.support.services import service_required

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
BEFORE = "def total(xs):\n    return sum(xs)\n"
AFTER = "def total(xs):\n    return round(sum(xs), 2)\n"


@pytest.fixture
def browser() -> Iterator[Browser]:
    executable = find_chromium()
    if executable is None:
        service_required("chromium is not installed (./dev test installs it)")
    assert executable is not None
    chromium = Browser(executable)
    try:
        yield chromium
    finally:
        chromium.close()


def _session() -> list[ev.Event]:
    edit = ev.Edit(
        id="ed3",
        t=START + timedelta(seconds=30),
        session_id="s",
        path="calc.py",
        op="replace",
        patch_unified=make_patch(BEFORE, AFTER, "calc.py"),
        before_hash=text_hash(BEFORE),
        after_hash=text_hash(AFTER),
        author=ev.Author(kind="human"),
    )
    return [
        command(
            1,
            "pytest -q tests/test_calc.py",
            1,
            stdout="F\nFAILED tests/test_calc.py::test_total - assert 0.30000000000000004 == 0.3\n",
        ),
        opened(2, "calc.py"),
        ev.GoToDefinition(
            id="gd2",
            t=START + timedelta(seconds=20),
            session_id="s",
            path="tests/test_calc.py",
            symbol="total",
            targets=[ev.Location(path="calc.py", line=1)],
        ),
        edit,
        thought(40, "Floating point sum: round to cents"),
        command(50, "pytest -q", 0, stdout="1 passed\n"),
    ]


def _login(browser: Browser, server: ServerProcess) -> None:
    browser.navigate(f"{server.url}/ui/")
    browser.wait_for("!!document.querySelector('#token')")
    browser.type_into("#token", server.api_token)
    browser.click("#login-btn")
    browser.wait_for("document.querySelectorAll('#traces tr.trace-row').length > 0")


def test_viewer_login_list_trace_diff_command_judge(
    browser: Browser, prtrace_server: ServerProcess
) -> None:
    server = prtrace_server
    events = _session()
    with Client(server.url, server.api_token) as client:
        trace_id = make_trace(
            client,
            events,
            repository="https://example.com/calc.git",
            final_patch=make_patch(BEFORE, AFTER, "calc.py"),
        )
    judge = {
        "status": "done",
        "model": "test-model",
        "rubric_version": "1",
        "scores": {"diagnosis": 8.0, "verification": 6.5},
        "overall": 7.25,
        "evidence": {"diagnosis": ["gd2", "th40"], "verification": ["cmd50"]},
        "comments": "Found the float sum quickly.",
    }
    tests = {
        "ok": True,
        "verdict": "resolved",
        "passed": 1,
        "failed": 0,
        "exit_code": 0,
        "command": "pytest -q",
        "fail_to_pass": ["tests/test_calc.py::test_total"],
        "pass_to_pass": ["tests/test_calc.py::test_empty"],
    }
    set_qa(
        server,
        trace_id,
        qa_status="done",
        qa_judge=judge,
        qa_tests=tests,
        verdict="resolved",
        overall=7.25,
    )

    # A wrong token is refused on the login page.
    browser.navigate(f"{server.url}/ui/")
    browser.wait_for("!!document.querySelector('#token')")
    browser.type_into("#token", "pta_wrong")
    browser.click("#login-btn")
    browser.wait_for("document.querySelector('#login-error').textContent.includes('Login failed')")
    assert browser.evaluate("sessionStorage.getItem('prtrace_token')") is None

    browser.evaluate("document.querySelector('#token').value = ''")
    browser.type_into("#token", server.api_token)
    browser.click("#login-btn")
    browser.wait_for("document.querySelectorAll('#traces tr.trace-row').length > 0")
    assert browser.evaluate("sessionStorage.getItem('prtrace_token')") == server.api_token
    row = f"document.querySelector('tr.trace-row[data-id=\"{trace_id}\"]')"
    assert "resolved" in browser.evaluate(f"{row}.textContent")
    assert browser.evaluate(f"{row}.querySelector('.score-cell').textContent") == "7.25"
    browser.screenshot(ARTIFACTS / "viewer-list.png")

    browser.click(f'tr.trace-row[data-id="{trace_id}"] a.trace-link')
    browser.wait_for("document.querySelectorAll('#events .event').length === 6")
    ids = browser.evaluate(
        "[...document.querySelectorAll('#events .event')].map(e => e.dataset.id)"
    )
    assert ids == [e.id for e in events]

    # The edit as a rendered diff: removed and added lines.
    diff = "document.querySelector('.event[data-id=\"ed3\"] .diff')"
    assert browser.evaluate(f"{diff}.querySelector('.del').textContent") == "-    return sum(xs)"
    assert (
        browser.evaluate(f"{diff}.querySelector('.add').textContent")
        == "+    return round(sum(xs), 2)"
    )
    # The failing command: its exit code marked, its output behind a disclosure.
    failing = "document.querySelector('.event[data-id=\"cmd1\"]')"
    assert browser.evaluate(f"{failing}.querySelector('.exit-bad').textContent") == "exit 1"
    assert browser.evaluate(f"{failing}.querySelector('details').open") is False
    browser.click('.event[data-id="cmd1"] details summary')
    assert browser.evaluate(f"{failing}.querySelector('details').open") is True
    assert "FAILED tests/test_calc.py::test_total" in browser.evaluate(
        f"{failing}.querySelector('pre').textContent"
    )
    assert (
        browser.evaluate("document.querySelector('.event[data-id=\"cmd50\"] .exit-0').textContent")
        == "exit 0"
    )
    assert "round to cents" in browser.evaluate(
        "document.querySelector('.event[data-id=\"th40\"] .thought').textContent"
    )
    assert "calc.py:1" in browser.evaluate(
        "document.querySelector('.event[data-id=\"gd2\"]').textContent"
    )

    # Tests and judge.
    assert "tests/test_calc.py::test_total" in browser.evaluate(
        "document.querySelector('#qa-tests .tests-fail_to_pass').textContent"
    )
    assert browser.evaluate("document.querySelector('#judge-overall').textContent") == "7.25"
    scores = browser.evaluate(
        "Object.fromEntries([...document.querySelectorAll('#judge .score')].map(s => "
        "[s.dataset.dimension, [...s.querySelectorAll('a.ev')].map(a => a.dataset.event)]))"
    )
    assert scores == {"diagnosis": ["gd2", "th40"], "verification": ["cmd50"]}
    assert "8.00" in browser.evaluate(
        "document.querySelector('#judge .score[data-dimension=diagnosis]').textContent"
    )
    browser.click('#judge a.ev[data-event="cmd50"]')
    browser.wait_for(
        "document.querySelector('.event[data-id=\"cmd50\"]').classList.contains('flash')"
    )
    # The final patch, rendered.
    assert browser.evaluate("document.querySelectorAll('#final-patch .diff .add').length") == 1
    # Who wrote it: the server attributed the final patch from the events (the edit: human).
    assert browser.evaluate("document.querySelector('#final-patch .diff .add').dataset.author") == (
        "human"
    )
    assert "written by human · 1 line" in browser.evaluate(
        "document.querySelector('#final-patch .diff .hunk').textContent"
    )

    browser.screenshot(ARTIFACTS / "viewer-trace.png")
    # Event filters go to the server: a file, a type, text in commands.
    browser.evaluate("document.querySelector('#event-filters [name=path]').value = 'calc.py'")
    browser.evaluate("document.querySelector('#event-filters').requestSubmit()")
    browser.wait_for(
        "[...document.querySelectorAll('#events .event')].map(e => e.dataset.id).join() === 'op2,ed3'"
    )
    browser.evaluate("document.querySelector('#event-filters [name=path]').value = ''")
    browser.evaluate("document.querySelector('#event-filters [name=q]').value = 'PYTEST -q'")
    browser.evaluate("document.querySelector('#event-filters').requestSubmit()")
    browser.wait_for(
        "[...document.querySelectorAll('#events .event')].map(e => e.dataset.id).join() === 'cmd1,cmd50'"
    )
    browser.screenshot(ARTIFACTS / "viewer-trace-filtered.png")
    assert (ARTIFACTS / "viewer-trace.png").stat().st_size > 10_000
    assert browser.console == []


def test_viewer_pages_a_20000_event_trace(browser: Browser, prtrace_server: ServerProcess) -> None:
    server = prtrace_server
    many = [thought(i, f"note {i}") for i in range(20_000)]
    with Client(server.url, server.api_token) as client:
        trace_id = make_trace(client, many, batch=5000)
    overview = httpx.get(
        f"{server.url}/ui/api/traces/{trace_id}",
        headers={"Authorization": f"Bearer {server.api_token}"},
    ).json()
    assert overview["event_count"] == 20_000 and overview["events"] == []

    _login(browser, server)
    browser.navigate(f"{server.url}/ui/#/trace/{trace_id}")
    browser.wait_for("document.querySelectorAll('#events .event').length >= 500")
    # Only what is near the screen is in the page: far less than the whole trace.
    shown = browser.evaluate("document.querySelectorAll('#events .event').length")
    assert shown < 20_000 and shown % 500 == 0
    assert "of 20000 events" in browser.evaluate(
        "document.querySelector('#event-count').textContent"
    )
    browser.evaluate("document.querySelector('#sentinel').scrollIntoView()")
    browser.wait_for(f"document.querySelectorAll('#events .event').length > {shown}")
    # An event far down the trace is reachable by link (paging on to it).
    browser.navigate(f"{server.url}/ui/#/trace/{trace_id}?event=th15000")
    browser.wait_for("!!document.querySelector('#ev-th15000.flash')", timeout=60)
    browser.screenshot(ARTIFACTS / "viewer-20k.png", full_page=False)
