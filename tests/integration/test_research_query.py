"""Query (issue 7): ``GET /traces`` filters, sorts and cursors; ``GET /traces/{id}/events``
filters by type, file, time and text. Against the backend's app in process
(``AppServer``) on SQLite and on PostgreSQL (the file and text filters read the stored
JSON with each database's own functions, so both must be exercised).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from prtrace import events as ev
from prtrace.client import Client
from tests.support.app_server import AppServer
from tests.support.research_support import START, command, make_trace, opened, set_qa, thought


@pytest.fixture(params=["sqlite", "postgres"])
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[AppServer]:
    env = {}
    if request.param == "postgres":
        env = {"PRTRACE_DATABASE_URL": request.getfixturevalue("pg_url")}
    with AppServer(tmp_path / "prtrace-home", env=env) as app:
        yield app


def _listed(server: AppServer, **params: Any) -> list[str]:
    response = server.client.get(
        f"{server.url}/traces",
        params=params,
        headers={"Authorization": f"Bearer {server.api_token}"},
    )
    assert response.status_code == 200, response.text
    return [s["trace_id"] for s in response.json()["traces"]]


def _pages(server: AppServer, limit: int, **params: Any) -> list[list[str]]:
    pages: list[list[str]] = []
    cursor = None
    while True:
        body = server.client.get(
            f"{server.url}/traces",
            params={**params, "limit": limit, **({"cursor": cursor} if cursor else {})},
            headers={"Authorization": f"Bearer {server.api_token}"},
        ).json()
        pages.append([s["trace_id"] for s in body["traces"]])
        cursor = body["next_cursor"]
        if cursor is None:
            return pages
        assert len(pages) < 50


def test_trace_filters_sorts_and_cursors(server: AppServer) -> None:
    repo = f"https://example.com/{uuid.uuid4().hex}.git"
    made: list[str] = []
    # (developer, events, verdict, overall)
    plan = [
        ("ann", [thought(1, "a")], "resolved", 7.5),
        ("bob", [command(1, "pytest", 1)], "not_resolved", 3.0),
        ("ann", [thought(1, "b"), command(2, "pytest", 0)], "resolved", 9.0),
        ("cy", [opened(1, "a.py")], None, None),
        ("ann", [opened(1, "b.py"), thought(2, "c")], "resolved", 7.5),
        ("bob", [command(1, "make", 2)], "error", None),
    ]
    with Client(server.url, server.api_token, transport=server.transport()) as client:
        for developer, events, verdict, overall in plan:
            trace_id = make_trace(client, events, repository=repo, developer=developer)
            values: dict[str, Any] = {"qa_status": "done" if verdict else "none"}
            if verdict:
                values.update(verdict=verdict, overall=overall)
            set_qa(server, trace_id, **values)
            made.append(trace_id)

    ls = lambda **p: _listed(server, repository=repo, **p)  # noqa: E731
    assert ls() == made[::-1]
    assert ls(verdict="resolved") == [made[4], made[2], made[0]]
    assert ls(verdict="resolved,error") == [made[5], made[4], made[2], made[0]]
    assert ls(qa_status="none") == [made[3]]
    assert ls(overall_min=7.5) == [made[4], made[2], made[0]]
    assert ls(overall_min=7.6) == [made[2]]
    assert ls(overall_max=7.5) == [made[4], made[1], made[0]]
    assert ls(overall_min=3, overall_max=8) == [made[4], made[1], made[0]]
    assert ls(has_type="terminal_command") == [made[5], made[2], made[1]]
    assert ls(has_type="terminal_command,thought") == [made[2]]
    assert ls(has_type=["file_opened", "thought"]) == [made[4]]
    assert ls(has_type="pr_opened") == []
    assert ls(developer="ann", has_type="thought", verdict="resolved") == [
        made[4],
        made[2],
        made[0],
    ]

    # Sorts: created both ways; overall with ties broken by id and no score last.
    assert ls(sort="created") == made
    by_overall_desc = [made[2], made[4], made[0], made[1], made[5], made[3]]
    assert ls(sort="-overall") == by_overall_desc
    by_overall_asc = [made[1], made[0], made[4], made[2], made[3], made[5]]
    assert ls(sort="overall") == by_overall_asc

    # Cursor paging under each sort: every trace once, in the sort's order.
    for sort, expected in [
        ("-created", made[::-1]),
        ("created", made),
        ("-overall", by_overall_desc),
        ("overall", by_overall_asc),
    ]:
        for limit in (1, 2, 4):
            pages = _pages(server, limit, repository=repo, sort=sort)
            assert [t for page in pages for t in page] == expected, (sort, limit)
            assert all(len(page) <= limit for page in pages)
    # ...and with a filter on top.
    pages = _pages(server, 1, repository=repo, sort="-overall", verdict="resolved")
    assert [t for page in pages for t in page] == [made[2], made[4], made[0]]

    # A cursor belongs to its sort; garbage is a 422 naming the cursor, not a 500.
    cursor = server.client.get(
        f"{server.url}/traces",
        params={"repository": repo, "limit": 1, "sort": "overall"},
        headers={"Authorization": f"Bearer {server.api_token}"},
    ).json()["next_cursor"]
    for bad in (cursor, "not-a-cursor", "e30"):
        response = server.client.get(
            f"{server.url}/traces",
            params={"repository": repo, "cursor": bad, "sort": "-created"},
            headers={"Authorization": f"Bearer {server.api_token}"},
        )
        assert response.status_code == 422, response.text
        assert response.json()["field"] == "cursor"
    bad_sort = server.client.get(
        f"{server.url}/traces",
        params={"sort": "size"},
        headers={"Authorization": f"Bearer {server.api_token}"},
    )
    assert bad_sort.status_code == 400 or bad_sort.status_code == 422

    # The client passes the new filters through, and export agrees with the list.
    with Client(server.url, server.api_token, transport=server.transport()) as client:
        assert [
            s.trace_id
            for s in client.iter_traces(
                repository=repo, verdict="resolved", sort="-overall", limit=1
            )
        ] == [made[2], made[4], made[0]]
        exported = [line for line in client.export(repository=repo, has_type="thought")]
        assert [msgspec_id(line) for line in exported] == [made[0], made[2], made[4]]


def msgspec_id(line: bytes) -> str:
    import json

    return json.loads(line)["trace_id"]


def test_trace_filters_by_judge_dimension_scores(server: AppServer) -> None:
    repo = f"https://example.com/{uuid.uuid4().hex}.git"
    judged = [
        {"use_of_evidence": 4, "reproducibility": 2},
        {"use_of_evidence": 2, "reproducibility": 5},
        {"use_of_evidence": 5, "reproducibility": 4},
    ]
    made: list[str] = []
    with Client(server.url, server.api_token, transport=server.transport()) as client:
        for scores in judged:
            trace_id = make_trace(client, [thought(1, "x")], repository=repo)
            set_qa(
                server,
                trace_id,
                qa_status="done",
                qa_judge={"status": "done", "scores": scores, "overall": 3.0},
            )
            made.append(trace_id)
        made.append(make_trace(client, [thought(1, "unjudged")], repository=repo))

    ls = lambda **p: _listed(server, repository=repo, **p)  # noqa: E731
    assert ls(score="use_of_evidence:4:") == [made[2], made[0]]
    assert ls(score="reproducibility::2") == [made[0]]
    assert ls(score="use_of_evidence:3:5,reproducibility:3:") == [made[2]]
    assert ls(score=["use_of_evidence:2:2", "reproducibility:5:5"]) == [made[1]]
    assert ls(score="problem_understanding:1:") == []  # no judgement scored it
    with Client(server.url, server.api_token, transport=server.transport()) as client:
        assert [
            t.trace_id for t in client.iter_traces(repository=repo, score="use_of_evidence:5:")
        ] == [made[2]]
    for bad in ("use_of_evidence", "use_of_evidence::", "Bad-Name:1:", "use_of_evidence:x:"):
        response = server.client.get(
            f"{server.url}/traces",
            params={"score": bad},
            headers={"Authorization": f"Bearer {server.api_token}"},
        )
        assert response.status_code == 400 and response.json()["field"] == "score", bad


def test_event_filters_type_file_time_text(server: AppServer) -> None:
    t = START
    events: list[Any] = [
        opened(1, "src/app.py"),
        opened(2, "src/util.py"),
        ev.FileMoved(
            id="mv3",
            t=t + timedelta(seconds=3),
            session_id="s",
            path="src/new_name.py",
            from_path="src/app.py",
        ),
        command(4, "pytest -k Payment_100%", 1, stdout="FAILED src/app.py"),
        thought(5, "The Parser drops the cents"),
        command(6, "git diff", 0),
        ev.GoToDefinition(
            id="gd7",
            t=t + timedelta(seconds=7),
            session_id="s",
            path="src/util.py",
            targets=[ev.Location(path="src/app.py", line=3)],
        ),
        thought(8, "50% done; call it with under_score"),
    ]
    with Client(server.url, server.api_token, transport=server.transport()) as client:
        trace_id = make_trace(client, events, finalize=False)

        def ids(**params: Any) -> list[str]:
            return [e.id for e in client.list_events(trace_id, **params).events]

        assert ids() == [e.id for e in events]
        assert ids(type="thought") == ["th5", "th8"]
        # File: its own path or where it was moved from, not a target it points at.
        assert ids(path="src/app.py") == ["op1", "mv3"]
        assert ids(path="src/util.py") == ["op2", "gd7"]
        assert ids(path="src/util.py", type="go_to_definition") == ["gd7"]
        assert ids(path="nope.py") == []
        # Time: since inclusive, until exclusive.
        assert ids(since=t + timedelta(seconds=4), until=t + timedelta(seconds=6)) == [
            "cmd4",
            "th5",
        ]
        assert ids(since=t + timedelta(seconds=8)) == ["th8"]
        # Text in commands and notes, case-insensitive; % and _ are literal.
        assert ids(q="parser") == ["th5"]
        assert ids(q="PYTEST") == ["cmd4"]
        assert ids(q="payment_100%") == ["cmd4"]
        assert ids(q="50%") == ["th8"]
        assert ids(q="under_score") == ["th8"]
        assert ids(q="under%score") == []
        assert ids(q="FAILED") == []  # output is not searched
        assert ids(q="git", type="terminal_command") == ["cmd6"]
        # Filters and paging together.
        page = client.list_events(trace_id, type="thought,terminal_command", limit=2)
        assert [e.id for e in page.events] == ["cmd4", "th5"] and page.next_after == "th5"
        rest = client.list_events(trace_id, type="thought,terminal_command", after="th5", limit=2)
        assert [e.id for e in rest.events] == ["cmd6", "th8"]
