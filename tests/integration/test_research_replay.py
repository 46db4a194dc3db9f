"""Replay (issue 7): ``prtrace.replay`` and ``prtrace replay`` rebuild a recorded session.

The recorded sample session replays to its final patch byte for byte; stopping at
any edit (by id or by time) leaves the workspace exactly as the developer had it
then (every touched file at that moment's hash, nothing else changed); a tampered
edit is reported at its own event; ``--to-server`` re-sends a trace to another
backend as a new trace.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import msgspec
import pytest

from prtrace import events as ev
from prtrace.cli.main import main as prtrace_main
from prtrace.client import Client
from prtrace.demo import make_sample_repo, recorded_session
from prtrace.demo.server import ServerProcess
from prtrace.hashing import text_hash
from prtrace.replay import events_until, load_trace, replay, reupload
from prtrace.trace import Artifacts, Developer, Task, Trace
from tests.support.research_support import make_trace

START = datetime(2024, 2, 1, 10, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Trace:
    repo, commit = make_sample_repo(tmp_path_factory.mktemp("sample") / "inventory")
    events, patch = recorded_session(repo, commit, session_id="ses_demo", start=START)
    return Trace(
        trace_id="tr_sample",
        created_at=START,
        status="sealed",
        developer=Developer(id="dana"),
        task=Task(repository=str(repo), commit=commit),
        events=events,
        artifacts=Artifacts(final_patch=patch),
    )


def _status(workspace: Path) -> str:
    return subprocess.run(
        ["git", "-C", str(workspace), "status", "--porcelain"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def _tampered(trace: Trace, index: int, **changes: object) -> Trace:
    events = list(trace.events)
    events[index] = msgspec.structs.replace(events[index], **changes)
    return msgspec.structs.replace(trace, events=events)


def _edit_indexes(trace: Trace) -> list[int]:
    return [i for i, e in enumerate(trace.events) if isinstance(e, ev.Edit)]


def test_sample_session_replays_to_its_final_patch_exactly(sample: Trace, tmp_path: Path) -> None:
    result = replay(sample, tmp_path / "ws")
    assert result.ok, result.disagreement
    assert len(result.steps) == len(sample.events) and result.stopped_at is None
    assert result.changed == len(_edit_indexes(sample)) >= 3
    assert result.diff() == sample.artifacts.final_patch
    # The workspace's own index was not touched by taking the diff.
    assert (
        subprocess.run(
            ["git", "-C", str(tmp_path / "ws"), "diff", "--cached", "--quiet"]
        ).returncode
        == 0
    )


def test_stopping_at_each_edit_leaves_the_workspace_as_it_was(
    sample: Trace, tmp_path: Path
) -> None:
    for n, index in enumerate(_edit_indexes(sample)):
        stop = sample.events[index]
        workspace = tmp_path / f"ws{n}"
        # Alternate the two ways of stopping: by event id and by time.
        if n % 2 == 0:
            result = replay(sample, workspace, until=stop.id)
        else:
            result = replay(sample, workspace, at=stop.t)
            assert all(e.t <= stop.t for e in events_until(sample, at=stop.t))
        assert result.ok and result.steps[-1].event.id == stop.id
        # Every file edited so far holds the hash of its latest edit; nothing else moved.
        latest: dict[str, str] = {}
        for e in sample.events[: index + 1]:
            if isinstance(e, ev.Edit):
                latest[e.path] = e.after_hash
        for path, digest in latest.items():
            assert text_hash((workspace / path).read_text()) == digest, (stop.id, path)
        changed = {line[3:] for line in _status(workspace).splitlines()}
        originals = {
            e.path: e.before_hash
            for e in reversed(sample.events[: index + 1])
            if isinstance(e, ev.Edit)
        }
        assert changed == {p for p in latest if latest[p] != originals[p]}, stop.id


def test_tampered_edit_is_reported_at_its_event(sample: Trace, tmp_path: Path) -> None:
    first, second, *_ = _edit_indexes(sample)
    edit = sample.events[second]
    assert isinstance(edit, ev.Edit)
    # The patch says something else than what the hashes recorded.
    lines = edit.patch_unified.splitlines(keepends=True)
    added = next(
        i for i, line in enumerate(lines) if line.startswith("+") and not line.startswith("+++")
    )
    lines[added] = lines[added].rstrip("\n") + "  # tampered\n"
    tampered = _tampered(sample, second, patch_unified="".join(lines))
    result = replay(tampered, tmp_path / "ws")
    assert not result.ok
    d_ = result.disagreement
    assert d_ is not None and d_.index == second and d_.event_id == edit.id
    assert "after_hash" in d_.message and d_.path == edit.path
    assert len(result.steps) == second + 1  # stopped there
    # The files are as they were before the tampered event (its write never happened).
    assert text_hash((tmp_path / "ws" / edit.path).read_text()) == edit.before_hash

    # A wrong before_hash further on: the first disagreement is still the one reported,
    # and with keep_going the later one is seen too.
    third = _edit_indexes(sample)[2]
    twice = _tampered(tampered, third, before_hash="0" * 64)
    result = replay(twice, tmp_path / "ws2", keep_going=True)
    assert result.disagreement is not None and result.disagreement.event_id == edit.id
    assert result.steps[third].error and "before_hash" in result.steps[third].error

    # A path out of the workspace is refused, not written.
    hostile = _tampered(sample, first, path="../outside.py")
    result = replay(hostile, tmp_path / "ws3")
    assert result.disagreement is not None and result.disagreement.index == first
    assert "climbs out" in result.disagreement.message
    assert not (tmp_path / "outside.py").exists()


def test_cli_replay_file_and_tampered(
    sample: Trace, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "sample.json"
    path.write_bytes(msgspec.json.encode(sample))
    assert (
        prtrace_main(
            [
                "replay",
                str(path),
                "-w",
                str(tmp_path / "a"),
                "--patch-out",
                str(tmp_path / "p.diff"),
            ]
        )
        == 0
    )
    out, err = capsys.readouterr()
    assert "final patch: reproduced exactly" in err
    assert len(out.splitlines()) == len(sample.events)
    assert "go_to_definition" in out and "edit" in out
    assert (tmp_path / "p.diff").read_text() == sample.artifacts.final_patch

    second = _edit_indexes(sample)[1]
    bad = _tampered(sample, second, after_hash="f" * 64)
    # As one line of a JSONL export.
    (tmp_path / "bad.jsonl").write_bytes(msgspec.json.encode(bad) + b"\n")
    assert (
        prtrace_main(["replay", str(tmp_path / "bad.jsonl"), "-w", str(tmp_path / "b"), "--json"])
        == 1
    )
    report = json.loads(capsys.readouterr().out)
    assert report["disagreement"]["index"] == second
    assert report["disagreement"]["event_id"] == sample.events[second].id
    assert report["final_patch_matches"] is None

    # --at as an offset from the first event.
    assert prtrace_main(["replay", str(path), "-w", str(tmp_path / "c"), "--at", "+0s", "-q"]) == 0
    assert "stopped after" in capsys.readouterr().err
    assert prtrace_main(["replay", str(path), "-w", str(tmp_path / "d"), "--until", "nope"]) == 2


def test_replay_by_id_and_to_server(
    sample: Trace,
    tmp_path: Path,
    start_prtrace_server: Callable[..., ServerProcess],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    source = start_prtrace_server()
    target = start_prtrace_server()
    with Client(source.url, source.api_token) as client:
        trace_id = make_trace(
            client,
            list(sample.events),
            repository=sample.task.repository,
            commit=sample.task.commit,
            final_patch=sample.artifacts.final_patch,
            batch=7,
        )
        stored = load_trace(trace_id, client)
    assert stored.events == sample.events

    monkeypatch.setenv("PRTRACE_URL", source.url)
    monkeypatch.setenv("PRTRACE_API_TOKEN", source.api_token)
    assert prtrace_main(["replay", trace_id, "-w", str(tmp_path / "ws"), "-q"]) == 0
    assert "final patch: reproduced exactly" in capsys.readouterr().err

    assert (
        prtrace_main(
            [
                "replay",
                trace_id,
                "--to-server",
                target.url,
                "--to-token",
                target.api_token,
                "--json",
            ]
        )
        == 0
    )
    new_id = json.loads(capsys.readouterr().out)["trace_id"]
    assert new_id != trace_id
    with Client(target.url, target.api_token) as other:
        copy = other.get_trace(new_id)
        assert copy.events == sample.events and copy.status == "sealed"
        assert copy.artifacts.final_patch == sample.artifacts.final_patch
        assert copy.task == stored.task and copy.developer == stored.developer
        # Part of a session: up to an event, sealed without the final patch.
        cut = sample.events[5].id
        part_id = reupload(stored, other, until=cut, batch_size=2)
        part = other.get_trace(part_id)
        assert [e.id for e in part.events] == [e.id for e in sample.events[:6]]
        assert part.artifacts.final_patch is None


def test_observed_hashes_are_checked(sample: Trace, tmp_path: Path) -> None:
    opened = next(i for i, e in enumerate(sample.events) if isinstance(e, ev.FileOpened) and e.hash)
    wrong = _tampered(sample, opened, hash="a" * 64)
    result = replay(wrong, tmp_path / "ws")
    assert result.disagreement is not None and result.disagreement.index == opened
    assert "as opened" in result.disagreement.message
    # Only changes are checked when asked so; the final patch still comes out.
    relaxed = replay(wrong, tmp_path / "ws2", observe=False)
    assert relaxed.ok and relaxed.diff() == sample.artifacts.final_patch


def test_recorded_lsp_session_replays_to_the_saved_file(tmp_path: Path) -> None:
    """A session recorded by the real proxy in front of pylsp replays to what was saved."""
    from tests.integration import test_lsp_servers as lsp
    from tests.support.lsp_support import LspClient, proxy_env, prtrace_cmd, spooled_events

    ws = lsp._workspace(tmp_path)
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-C", str(ws)]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "base"], check=True)
    commit = subprocess.run(
        [*git, "rev-parse", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()
    (ws / ".gitignore").write_text(".prtrace/\n.gitignore\n")

    client = LspClient(
        [*prtrace_cmd(), "lsp", "--no-upload", "--idle-gap", "60", "--", *lsp._server("pylsp")],
        env=proxy_env(ws),
        cwd=ws,
    )
    client.initialize(ws)
    uri = (ws / "main.py").as_uri()
    client.notify(
        "textDocument/didOpen",
        {"textDocument": {"uri": uri, "languageId": "python", "version": 1, "text": lsp.MAIN}},
    )
    version = lsp._type(client, uri, 1, 3, 0, "value = helper(3)\n")
    client.request(
        "textDocument/definition",
        {"textDocument": {"uri": uri}, "position": {"line": 3, "character": 10}},
    )
    version += 1
    client.notify(
        "textDocument/didChange",
        {
            "textDocument": {"uri": uri, "version": version},
            "contentChanges": [
                {
                    "range": {
                        "start": {"line": 2, "character": 13},
                        "end": {"line": 2, "character": 14},
                    },
                    "text": "40",
                }
            ],
        },
    )
    saved = lsp.MAIN.replace("helper(2)", "helper(40)") + "value = helper(3)\n"
    (ws / "main.py").write_bytes(saved.encode())
    client.notify("textDocument/didSave", {"textDocument": {"uri": uri}})
    client.notify("textDocument/didClose", {"textDocument": {"uri": uri}})
    assert client.shutdown() == 0

    events = msgspec.convert(spooled_events(ws), list[ev.Event])
    assert sum(isinstance(e, ev.Edit) for e in events) >= 2
    final_patch = subprocess.run(
        [*git, "diff", "--no-color", "--no-ext-diff"], capture_output=True, text=True, check=True
    ).stdout
    recorded = Trace(
        trace_id="tr_lsp",
        created_at=START,
        developer=Developer(id="d"),
        task=Task(repository=str(ws), commit=commit),
        events=events,
        artifacts=Artifacts(final_patch=final_patch),
    )
    result = replay(recorded, tmp_path / "replayed")
    assert result.ok, result.disagreement
    assert result.diff() == final_patch
    assert (tmp_path / "replayed" / "main.py").read_bytes() == saved.encode()
