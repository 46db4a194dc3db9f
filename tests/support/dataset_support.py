"""Recorded traces for the dataset tests: the demo's session, and one whose patch adds tests.

Both are uploaded over real HTTP to a real server, their QA results written as the
QA job writes them (tests/support/research_support.set_qa), because these tests are
about building datasets from verified traces, not about running QA.
"""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

from prtrace import events as ev
from prtrace.client import Client
from prtrace.demo import FAIL_TO_PASS, TEST_COMMAND, TEST_IMAGE, make_sample_repo, recorded_session
from prtrace.demo.server import ServerProcess
from prtrace.trace import Artifacts, Developer, Task
from tests.support.privacy_corpus import planted_lines
from tests.support.research_support import set_qa

START = datetime(2024, 6, 1, 9, 0, tzinfo=UTC)
NEW_TEST = "tests/test_rounding.py"
NEW_TEST_TEXT = (
    "from inventory.parsing import load_csv\n"
    "from inventory.report import summary\n"
    "from inventory.stock import Stock\n\n\n"
    "def test_total_adds_exact_line_totals():\n"
    '    export = "sku,name,quantity,price\\nW-100,Widget,3,$19.99\\nG-200,Gadget,1,$4.35\\n"\n'
    '    export += "S-300,Sprocket,12,$0.50\\n"\n'
    '    assert "Total: $70.32" in summary(Stock(load_csv(export))).splitlines()\n'
)
"""A test the demo's bug fails and its fix passes (so it is FAIL_TO_PASS)."""
SECOND_FAIL_TO_PASS = sorted([*FAIL_TO_PASS, f"{NEW_TEST}::test_total_adds_exact_line_totals"])
"""What QA finds for the second session: the demo's target and the test it adds."""


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=repo, check=True, capture_output=True, text=True
    ).stdout


def _upload(client: Client, task: Task, developer: str, events: list[ev.Event], patch: str) -> str:
    created = client.create_trace(Developer(id=developer), task)
    client.upload_events(created.trace_id, 0, events, token=created.upload_token)
    client.finalize(created.trace_id, Artifacts(final_patch=patch), token=created.upload_token)
    return created.trace_id


def record_demo_traces(server: ServerProcess, root: Path) -> tuple[Path, str, list[str]]:
    """The sample repository, its commit and the ids of three sealed, resolved traces:
    the demo's session; a session whose final patch also adds a test file (and whose
    notes and commands carry every secret of the privacy corpus); and one not resolved."""
    repo, commit = make_sample_repo(root / "sample")
    events, patch = recorded_session(repo, commit, session_id="ses_demo", start=START)
    task = Task(
        repository=str(repo),
        commit=commit,
        id="sample__inventory-1",
        title="Report total does not match the export",
        description="summary() rounds each line before adding them up.",
        test_image=TEST_IMAGE,
        test_command=TEST_COMMAND,
        fail_to_pass=list(FAIL_TO_PASS),
    )
    with Client(server.url, server.api_token) as client:
        demo = _upload(client, task, "dana@example.com", events, patch)
        # A second developer on another task: the same fix plus a new test file, as git
        # writes it (a real diff of a real tree).
        work = root / "second"
        git(root, "clone", "-q", str(repo), str(work))
        git(work, "checkout", "-q", commit)
        subprocess.run(["git", "apply"], input=patch, text=True, cwd=work, check=True)
        (work / NEW_TEST).write_text(NEW_TEST_TEXT)
        git(work, "add", "-A")
        second_patch = git(work, "diff", "--cached", commit)
        t = START + timedelta(hours=1)
        notes: list[ev.Event] = [
            ev.Thought(id=f"n{i}", t=t + timedelta(seconds=i), session_id="s2", raw=line)
            for i, line in enumerate(planted_lines())
        ]
        notes.append(
            ev.TerminalCommand(
                id="c1",
                t=t + timedelta(minutes=5),
                session_id="s2",
                cmd=planted_lines()[0],
                exit_code=0,
                stdout="\n".join(planted_lines()),
            )
        )
        second = _upload(
            client,
            Task(
                repository=str(repo),
                commit=commit,
                id="sample__inventory-2",
                title="Report total drifts by a cent",
                description="Line totals are rounded before they are summed; add a test.",
                test_image=TEST_IMAGE,
                test_command=TEST_COMMAND,
            ),
            "erin@example.com",
            [*events[:5], *notes],
            second_patch,
        )
        failed = _upload(
            client,
            Task(repository=str(repo), commit=commit, id="sample__inventory-3"),
            "fay",
            events[:3],
            patch,
        )
    for trace_id, verdict in ((demo, "resolved"), (second, "resolved"), (failed, "not_resolved")):
        fail_to_pass = SECOND_FAIL_TO_PASS if trace_id == second else list(FAIL_TO_PASS)
        set_qa(
            server,
            trace_id,
            qa_status="done",
            verdict=verdict,
            overall=4.0,
            qa_tests={
                "ok": verdict == "resolved",
                "verdict": verdict,
                "fail_to_pass": fail_to_pass,
                "pass_to_pass": ["tests/test_stock.py::test_add"],
            },
        )
    return repo, commit, [demo, second, failed]
