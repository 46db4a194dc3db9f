"""Traces for the judge's tests: a small hand-made session and a 20,000-event one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from prtrace import events as ev
from prtrace.hashing import text_hash
from prtrace.trace import Developer, Task, Trace

START = datetime(2024, 5, 1, 9, 0, tzinfo=UTC)
SECRET = "sk-proj-" + "A1b2C3d4E5f6G7h8I9j0K1l2"


def _h(i: int) -> str:
    return text_hash(f"state {i}")


def _patch(path: str, old: str, new: str) -> str:
    return f"--- a/{path}\n+++ b/{path}\n@@ -1,3 +1,3 @@\n context\n-{old}\n+{new}\n context\n"


def make_trace(events: list[ev.Event], trace_id: str = "tr_judge") -> Trace:
    return Trace(
        trace_id=trace_id,
        created_at=START,
        developer=Developer(id="dana"),
        task=Task(
            repository="/repos/inventory",
            commit="abc1234",
            title="total is 4 cents short",
            test_command="pytest -q",
        ),
        events=events,
    )


def small_trace() -> Trace:
    """Fail, think, look, a failed attempt undone, the fix, pass."""
    s = "s1"
    t = lambda k: START + timedelta(seconds=10 * k)  # noqa: E731
    events: list[ev.Event] = [
        ev.TerminalCommand(
            id="e1",
            t=t(1),
            session_id=s,
            cmd="pytest -q",
            exit_code=1,
            stdout="F.\nFAILED test_total - assert 70.28 == 70.32\n1 failed",
        ),
        ev.Thought(
            id="e2", t=t(2), session_id=s, raw="Total is 4 cents short; prices look off already."
        ),
        ev.FileOpened(id="e3", t=t(3), session_id=s, path="inventory/parsing.py"),
        ev.GoToDefinition(
            id="e4",
            t=t(4),
            session_id=s,
            path="inventory/report.py",
            symbol="parse_price",
            targets=[ev.Location(path="inventory/parsing.py", line=19)],
        ),
        ev.Edit(
            id="e5",
            t=t(5),
            session_id=s,
            path="inventory/parsing.py",
            op="replace",
            patch_unified=_patch("inventory/parsing.py", "int(x * 100)", "int(round(x, 2) * 100)"),
            before_hash=_h(0),
            after_hash=_h(1),
        ),
        ev.Edit(
            id="e6",
            t=t(6),
            session_id=s,
            path="inventory/parsing.py",
            op="replace",
            patch_unified=_patch("inventory/parsing.py", "int(round(x, 2) * 100)", "int(x * 100)"),
            before_hash=_h(1),
            after_hash=_h(0),
        ),
        ev.Thought(
            id="e7",
            t=t(7),
            session_id=s,
            raw=f"Rounding floats cannot work; use Decimal. key={SECRET}",
        ),
        ev.Edit(
            id="e8",
            t=t(8),
            session_id=s,
            path="inventory/parsing.py",
            op="replace",
            patch_unified=_patch("inventory/parsing.py", "int(x * 100)", "int(Decimal(x) * 100)"),
            before_hash=_h(0),
            after_hash=_h(2),
        ),
        ev.TerminalCommand(
            id="e9", t=t(9), session_id=s, cmd="pytest -q", exit_code=0, stdout="12 passed"
        ),
    ]
    return make_trace(events)


def big_trace(n: int = 20_000) -> tuple[Trace, dict[str, set[str]]]:
    """``n`` events, mostly noise; returns the trace and the ids that must stay visible."""
    s = "s1"
    events: list[ev.Event] = []
    must: dict[str, set[str]] = {"thought": set(), "failing": set(), "edit": set()}
    output = "\n".join(f"line {k}: " + "x" * 90 for k in range(200))
    patch_body = "\n".join(f"-old line {k}\n+new line {k}" for k in range(40))
    for i in range(n):
        t = START + timedelta(seconds=i)
        eid = f"ev-{i:05d}"
        kind = i % 100
        if kind == 0:
            events.append(
                ev.Thought(id=eid, t=t, session_id=s, raw=f"Idea {i}: " + "reasoning " * 60)
            )
            must["thought"].add(eid)
        elif kind in (1, 2):
            events.append(
                ev.TerminalCommand(
                    id=eid, t=t, session_id=s, cmd=f"pytest -k case{i}", exit_code=1, stdout=output
                )
            )
            must["failing"].add(eid)
        elif kind in (3, 4):
            events.append(
                ev.Edit(
                    id=eid,
                    t=t,
                    session_id=s,
                    path=f"src/mod{i % 7}.py",
                    op="replace",
                    patch_unified=f"--- a/x\n+++ b/x\n@@ -1,40 +1,40 @@\n{patch_body}\n",
                    before_hash=_h(i),
                    after_hash=_h(i + 1),
                )
            )
            must["edit"].add(eid)
        elif kind in (5, 6, 7):
            events.append(
                ev.TerminalCommand(
                    id=eid, t=t, session_id=s, cmd="ls -la", exit_code=0, stdout=output
                )
            )
        elif kind == 8:
            events.append(ev.Diagnostics(id=eid, t=t, session_id=s, path="src/a.py", errors=1))
        elif kind == 9:
            events.append(ev.GoToDefinition(id=eid, t=t, session_id=s, path="src/a.py", symbol="f"))
        else:
            events.append(ev.FileOpened(id=eid, t=t, session_id=s, path=f"src/file{i}.py"))
    return make_trace(events, "tr_big"), must
