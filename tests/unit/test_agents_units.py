"""Agents' hooks (recorder/agents/), their setup, provenance and the final patch's authorship."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import msgspec
import pytest

from prtrace import events as ev
from prtrace.attribution import agent_trace, attribute
from prtrace.patches import make_patch
from prtrace.recorder.agents import load_all
from prtrace.recorder.agents.base import AgentRecorder
from prtrace.recorder.agents.claude_code import EVENTS, ClaudeCode
from prtrace.recorder.agents.cursor import Cursor
from prtrace.recorder.pipeline import provenance
from prtrace.recorder.pipeline.spool import Spool
from prtrace.recorder.setup import load
from prtrace.recorder.setup.base import SetupContext, backup_path

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _at(i: float) -> datetime:
    return T0 + timedelta(seconds=i)


# --- attribution -------------------------------------------------------------------


def _changed(i: int, path: str, before: str, after: str, author: ev.Author) -> ev.FileChanged:
    return ev.FileChanged(
        id=str(i),
        t=_at(i),
        session_id="s",
        path=path,
        patch_unified=make_patch(before, after, path),
        author=author,
    )


HUMAN = ev.Author(kind="human")
AGENT = ev.Author(kind="agent", agent="claude-code", model="m1", event_id="tool-1")
COMMAND = ev.Author(kind="command", event_id="cmd-1")


def test_each_added_line_goes_to_the_change_that_last_wrote_it() -> None:
    base = "a\nb\nc\nd\n"
    human = "a\nH\nb\nc\nd\n"
    agent = "a\nH\nb\nc\nA1\nA2\nd\n"
    final = "a\nH\nb\nC\nA1\nA2\nd\nlate\n"  # "late": nobody recorded it
    events = [
        ev.Edit(
            id="1",
            t=_at(1),
            session_id="s",
            path="x.py",
            op="insert",
            patch_unified=make_patch(base, human, "x.py"),
            before_hash="0" * 64,
            after_hash="1" * 64,
            author=HUMAN,
        ),
        _changed(2, "x.py", human, agent, AGENT),
        _changed(3, "x.py", agent, "a\nH\nb\nC\nA1\nA2\nd\n", COMMAND),
    ]
    result = attribute(events, make_patch(base, final, "x.py"))
    (file,) = result.files
    assert [(r.start_line, r.end_line, r.kind) for r in file.ranges] == [
        (2, 2, "human"),
        (4, 4, "command"),
        (5, 6, "agent"),
        (8, 8, "unknown"),
    ]
    assert (result.lines.human, result.lines.agent, result.lines.command) == (1, 2, 1)
    assert result.lines.unknown == 1 and result.ai_share == pytest.approx(0.4)
    assert file.ranges[2].event_id == "tool-1" and file.ranges[2].model == "m1"


def test_a_line_rewritten_later_is_the_later_author_and_moves_follow_files() -> None:
    events = [
        ev.FileCreated(
            id="1",
            t=_at(1),
            session_id="s",
            path="old.py",
            patch_unified=make_patch("", "x = 1\ny = 2\n", "old.py"),
            author=AGENT,
        ),
        ev.FileMoved(id="2", t=_at(2), session_id="s", path="new.py", from_path="old.py"),
        _changed(3, "new.py", "x = 1\ny = 2\n", "x = 1\ny = 3\n", HUMAN),
    ]
    final = make_patch("", "x = 1\ny = 3\n", "new.py")
    (file,) = attribute(events, final).files
    assert [(r.start_line, r.kind) for r in file.ranges] == [(1, "agent"), (2, "human")]


def test_agent_trace_record_has_contributors_ranges_and_related() -> None:
    events = [_changed(1, "x.py", "", "a\nb\n", AGENT)]
    record = agent_trace(
        attribute(events, make_patch("", "a\nb\n", "x.py")),
        trace_id="T1",
        revision="abc123",
        tool_version="9",
    )
    assert record["version"] == "0.1.0" and record["vcs"] == {"type": "git", "revision": "abc123"}
    (conversation,) = record["files"][0]["conversations"]
    assert conversation["contributor"] == {"type": "ai", "model_id": "m1"}
    assert (
        conversation["ranges"][0]["start_line"] == 1 and conversation["ranges"][0]["end_line"] == 2
    )
    assert conversation["ranges"][0]["content_hash"].startswith("sha256:")
    assert conversation["related"][0]["url"].endswith("/events/tool-1")


# --- dialects ----------------------------------------------------------------------


def test_claude_code_payloads_in_shared_words(tmp_path: Path) -> None:
    transcript = tmp_path / "t.jsonl"
    transcript.write_text(
        json.dumps({"type": "user", "version": "2.1.332"})
        + "\n"
        + json.dumps({"type": "assistant", "message": {"model": "claude-x"}, "version": "2.1.332"})
        + "\n"
    )
    cc = ClaudeCode()
    (pre,) = cc.parse(
        {
            "hook_event_name": "PreToolUse",
            "session_id": "S",
            "cwd": "/w",
            "tool_name": "Edit",
            "tool_use_id": "toolu_1",
            "tool_input": {"file_path": "/w/a.py", "old_string": "x", "new_string": "y"},
            "transcript_path": str(transcript),
        }
    )
    assert (pre.kind, pre.tool, pre.tool_use_id) == ("tool_pre", "Edit", "toolu_1")
    assert cc.summarize("Edit", pre.tool_input, None).files == ["/w/a.py"]
    assert cc.model_from(pre) == ("claude-x", "2.1.332")
    bash = cc.summarize("Bash", {"command": "make test"}, {"stdout": "ok\n", "stderr": "warn\n"})
    assert bash.command == "make test" and bash.output == "ok\n\nwarn\n"
    big = cc.summarize("Grep", {"pattern": "x" * 10_000}, None)
    assert big.truncated and len(big.input) < 6000
    assert cc.parse({"hook_event_name": "Notification"}) == []


def test_cursor_payloads_in_shared_words() -> None:
    cursor = Cursor()
    (edit,) = cursor.parse(
        {
            "hook_event_name": "afterFileEdit",
            "conversation_id": "c1",
            "workspace_roots": ["/w"],
            "file_path": "/w/b.py",
            "edits": [{"old_string": "a", "new_string": "b"}],
        }
    )
    assert (edit.kind, edit.cwd, edit.session_id) == ("tool_post", "/w", "c1")
    assert cursor.summarize("Edit", edit.tool_input, None).files == ["/w/b.py"]
    before, after = (
        cursor.parse(
            {"hook_event_name": n, "conversation_id": "c1", "command": "ls", "output": "x"}
        )[0]
        for n in ("beforeShellExecution", "afterShellExecution")
    )
    assert before.tool_use_id == after.tool_use_id and before.kind == "tool_pre"
    assert cursor.summarize("Shell", after.tool_input, after.tool_response).output == "x"


# --- the recorder and provenance ---------------------------------------------------


def _message(payload: dict, t: float) -> bytes:
    return json.dumps({"t": t, "payload": payload}).encode()


def _spooled(root: Path) -> list[dict]:
    with Spool.for_workspace(root) as spool:
        rows = spool.db.execute("SELECT body FROM events ORDER BY id").fetchall()
    return [json.loads(r[0]) for r in rows]


def test_a_tool_call_is_an_activity_from_pre_to_post(tmp_path: Path) -> None:
    (tmp_path / ".prtrace.toml").write_text("[privacy]\n")
    recorder = AgentRecorder(tmp_path, load_all())
    now = time.time()
    common = {"session_id": "S", "cwd": str(tmp_path), "tool_use_id": "toolu_9"}
    pre = {"hook_event_name": "PreToolUse", "tool_name": "Write", **common}
    pre["tool_input"] = {"file_path": str(tmp_path / "w.py"), "content": "x = 1\n"}
    recorder.handle_message("agent:claude-code", _message(pre, now))
    with Spool.for_workspace(tmp_path) as spool:
        during = provenance.author_for(spool, "w.py", now + 0.1)
        other = provenance.author_for(spool, "other.py", now + 0.1)
    assert (during.kind, during.agent) == ("agent", "claude-code") and other.kind == "unknown"
    post = dict(pre, hook_event_name="PostToolUse", tool_response={"type": "create"})
    recorder.handle_message("agent:claude-code", _message(post, now + 0.2))
    recorder.handle_message("agent:claude-code", b"not json")  # ignored, no raise
    recorder.handle_message("agent:nobody", _message(pre, now))
    recorder.close()
    (call,) = [e for e in _spooled(tmp_path) if e["type"] == "agent_tool_call"]
    assert call["id"] == during.event_id and call["files"] == ["w.py"] and call["input"] == "w.py"
    assert call["duration_ms"] == pytest.approx(200, abs=1)
    with Spool.for_workspace(tmp_path) as spool:
        assert provenance.author_for(spool, "w.py", now + 0.2 + provenance.SLACK + 0.1).kind == (
            "unknown"
        )


def test_a_call_without_its_post_is_recorded_incomplete(tmp_path: Path) -> None:
    (tmp_path / ".prtrace.toml").write_text("[privacy]\n")
    recorder = AgentRecorder(tmp_path, load_all())
    pre = {
        "hook_event_name": "PreToolUse",
        "session_id": "S",
        "tool_name": "Bash",
        "tool_use_id": "t",
        "tool_input": {"command": "sleep 100"},
    }
    recorder.handle_message("agent:claude-code", _message(pre, time.time()))
    end = {"hook_event_name": "SessionEnd", "session_id": "S", "reason": "other"}
    recorder.handle_message("agent:claude-code", _message(end, time.time()))
    recorder.close()
    kinds = [(e["type"], e.get("status"), e.get("phase")) for e in _spooled(tmp_path)]
    assert kinds == [("agent_tool_call", "incomplete", None), ("agent_session", None, "end")]


def test_nothing_is_recorded_in_a_workspace_that_did_not_opt_in(tmp_path: Path) -> None:
    recorder = AgentRecorder(tmp_path, load_all())
    prompt = {"hook_event_name": "UserPromptSubmit", "session_id": "S", "prompt": "hi"}
    recorder.handle_message("agent:claude-code", _message(prompt, time.time()))
    recorder.close()
    assert _spooled(tmp_path) == []


# --- setup ---------------------------------------------------------------------------


def test_setup_claude_code_keeps_the_users_hooks_and_undo_removes_only_ours(
    tmp_path: Path,
) -> None:
    settings = tmp_path / ".claude" / "settings.json"
    settings.parent.mkdir()
    mine = {"matcher": "Bash", "hooks": [{"type": "command", "command": "my-guard"}]}
    settings.write_text(json.dumps({"model": "x", "hooks": {"PreToolUse": [mine]}}))
    ctx = SetupContext(home=tmp_path / "home", repo=tmp_path, prtrace="/opt/prtrace")
    target = load("claude-code")
    assert [a.kind for a in target.install(ctx)] == ["updated"]
    assert [a.kind for a in target.install(ctx)] == ["unchanged"]
    data = json.loads(settings.read_text())
    assert sorted(data["hooks"]) == sorted(EVENTS) and data["model"] == "x"
    assert data["hooks"]["PreToolUse"][0] == mine
    ours = data["hooks"]["PreToolUse"][1]
    assert ours["matcher"] == "*"
    assert ours["hooks"][0]["command"].endswith("exec /opt/prtrace hook claude-code; exit 0")
    assert all(c.ok for c in target.check(ctx))
    assert backup_path(settings).exists()
    assert [a.kind for a in target.undo(ctx)] == ["removed"]
    assert json.loads(settings.read_text()) == {"model": "x", "hooks": {"PreToolUse": [mine]}}
    assert not all(c.ok for c in target.check(ctx))


def test_author_struct_round_trips_on_change_events() -> None:
    event = _changed(1, "x.py", "", "a\n", AGENT)
    decoded = msgspec.json.decode(msgspec.json.encode(event), type=ev.Event)
    assert decoded.author == AGENT  # type: ignore[union-attr]


def test_a_final_patch_whose_counts_redaction_broke_is_still_attributed() -> None:
    text = "a\n<redacted:private-key>\nb\n"
    events = [_changed(1, "k.py", "", text, AGENT)]
    final = make_patch("", "a\nK1\nK2\nK3\nb\n", "k.py").replace(
        "K1\n+K2\n+K3", "<redacted:private-key>"
    )
    assert "@@ -0,0 +1,5 @@" in final  # the header still counts the key's three lines
    result = attribute(events, final)
    assert (result.lines.agent, result.lines.unknown) == (3, 0)


def test_the_judges_view_marks_the_agents_actions_apart() -> None:
    from prtrace.qa.judge.compact import compact

    events = [
        ev.AgentPrompt(id="p", t=_at(0), session_id="a", agent="claude-code", prompt="fix add"),
        ev.AgentToolCall(
            id="tool-1",
            t=_at(1),
            session_id="a",
            agent="claude-code",
            tool="Bash",
            input="pytest -q",
            output="1 failed",
            exit_code=1,
        ),
        _changed(2, "x.py", "a\n", "b\n", AGENT),
        _changed(3, "y.py", "a\n", "b\n", HUMAN),
    ]
    text = compact(events, 10_000).text
    assert "DEVELOPER → AI AGENT claude-code: fix add" in text
    assert "AI AGENT claude-code Bash: pytest -q" in text
    lines = text.splitlines()
    assert any("x.py" in line and "BY AI AGENT claude-code" in line for line in lines)
    assert not any("y.py" in line and "AGENT" in line for line in lines)
