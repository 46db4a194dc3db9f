"""The file watcher against real tools: ``sed -i``, ``git checkout``, a formatter, an
editor's save storm and an editor save through the LSP proxy — each change recorded
exactly once; ignored files never; the recorded events replay to the working tree."""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import msgspec
import pytest

from prtrace.events import Event
from prtrace.hashing import text_hash
from prtrace.patches import apply_patch
from prtrace.recorder.files.watcher import FileWatcher
from prtrace.recorder.lsp.framing import frame
from prtrace.recorder.lsp.main import Recording, register
from prtrace.recorder.pipeline.spool import Spool, spool_path
from prtrace.replay import replay_events
from tests.support.lsp_support import FAKE_SERVER, LspClient, proxy_env, prtrace_cmd
from tests.support.terminal_support import spooled, wait_for

FAKE = FAKE_SERVER
APP = "def f(x):\n    return x + 1  # old\n"


def _git(ws: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=ws, check=True, capture_output=True, text=True).stdout


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    ws = tmp_path / "ws"
    (ws / "src").mkdir(parents=True)
    (ws / "node_modules" / "pkg").mkdir(parents=True)
    (ws / ".gitignore").write_text("node_modules/\n*.log\nbuild/\n")
    (ws / "src" / "app.py").write_text(APP)
    (ws / "src" / "fmt.py").write_text("x = {  'a':1,\n  'b' :2 }\n")
    (ws / "node_modules" / "pkg" / "index.js").write_text("module.exports = 1\n")
    _git(ws, "init", "-q")
    _git(ws, "add", "-A")
    _git(ws, "-c", "user.email=t@example.com", "-c", "user.name=T", "commit", "-qm", "init")
    monkeypatch.setenv("PRTRACE_WORKSPACE", str(ws))  # the privacy step's opt-in
    return ws


def fs_events(ws: Path) -> list[dict]:
    return [e for e in spooled(ws) if e.get("source") == "fs"]


def _wait_fs(ws: Path, n: int) -> list[dict]:
    return wait_for(
        lambda: (lambda e: e if len(e) >= n else None)(fs_events(ws)), what=f"{n} file events"
    )  # type: ignore[return-value]


def test_tools_changing_files_are_each_recorded_once(repo: Path, tmp_path: Path) -> None:
    pristine = tmp_path / "pristine"
    shutil.copytree(repo, pristine, ignore=shutil.ignore_patterns(".git", ".prtrace"))
    watcher = FileWatcher(repo, debounce=0.2).start()
    try:
        assert set(watcher.baseline) == {".gitignore", "src/app.py", "src/fmt.py"}
        subprocess.run(["sed", "-i", "s/# old/# new/", "src/app.py"], cwd=repo, check=True)
        sed = _wait_fs(repo, 1)[0]
        assert sed["type"] == "file_changed" and sed["path"] == "src/app.py"
        after_sed = (repo / "src" / "app.py").read_text()
        assert apply_patch(APP, sed["patch_unified"]) == after_sed
        assert (sed["before_hash"], sed["after_hash"]) == (text_hash(APP), text_hash(after_sed))

        _git(repo, "checkout", "--", "src/app.py")
        back = _wait_fs(repo, 2)[1]
        assert back["path"] == "src/app.py" and back["before_hash"] == sed["after_hash"]
        assert back["after_hash"] == text_hash(APP)

        if shutil.which("black") or Path(sys.executable).with_name("black").exists():
            black = shutil.which("black") or str(Path(sys.executable).with_name("black"))
            subprocess.run([black, "-q", "src/fmt.py"], cwd=repo, check=True)
        else:  # a formatter is a program that rewrites the file in place
            subprocess.run(
                [
                    sys.executable,
                    "-c",
                    "import pathlib; p = pathlib.Path('src/fmt.py');"
                    " p.write_text(\"x = {'a': 1, 'b': 2}\\n\")",
                ],
                cwd=repo,
                check=True,
            )
        fmt = _wait_fs(repo, 3)[2]
        assert fmt["path"] == "src/fmt.py" and fmt["type"] == "file_changed"

        # An editor's save storm: write a temp file, rename it over, chmod, touch.
        target = repo / "src" / "app.py"
        tmp = repo / "src" / ".app.py.swp"
        tmp.write_text(APP.replace("x + 1", "x + 2"))
        os.replace(tmp, target)
        os.chmod(target, 0o644)
        target.touch()
        storm = _wait_fs(repo, 4)[3]
        assert storm["path"] == "src/app.py" and "+    return x + 2" in storm["patch_unified"]

        # Ignored and skipped paths: never recorded.
        (repo / "node_modules" / "pkg" / "new.js").write_text("x")
        (repo / "debug.log").write_text("noise")
        (repo / "build").mkdir()
        (repo / "build" / "out.o").write_bytes(b"\0\1")
        (repo / ".prtrace" / "scratch").write_text("ours")

        (repo / "src" / "new.txt").write_text("brand new\n")
        (repo / "logo.bin").write_bytes(b"\x89PNG\0\0binary")
        _wait_fs(repo, 6)
        os.rename(repo / "src" / "new.txt", repo / "src" / "renamed.txt")
        (repo / "src" / "fmt.py").unlink()
        _wait_fs(repo, 8)
    finally:
        watcher.stop()
    events = fs_events(repo)
    kinds = [(e["type"], e["path"]) for e in events]
    assert kinds == [
        ("file_changed", "src/app.py"),
        ("file_changed", "src/app.py"),
        ("file_changed", "src/fmt.py"),
        ("file_changed", "src/app.py"),
        ("file_created", "src/new.txt"),
        ("file_created", "logo.bin"),
        ("file_moved", "src/renamed.txt"),
        ("file_deleted", "src/fmt.py"),
    ]  # exactly once each, in order, nothing for ignored paths
    binary = next(e for e in events if e["path"] == "logo.bin")
    assert binary["binary"] is True and "patch_unified" not in binary and binary["size"] == 12
    moved = next(e for e in events if e["type"] == "file_moved")
    assert moved["from_path"] == "src/new.txt"
    # The text changes replay, in order, from the starting tree to the working tree.
    decoded = msgspec.json.decode(msgspec.json.encode(events), type=list[Event])
    replay_events(pristine, decoded)
    for rel in ("src/app.py", "src/renamed.txt"):
        assert (pristine / rel).read_text() == (repo / rel).read_text()
    assert not (pristine / "src" / "fmt.py").exists()


def test_an_editor_save_through_the_lsp_proxy_is_not_recorded_twice(
    repo: Path, tmp_path: Path
) -> None:
    watcher = FileWatcher(repo, debounce=0.2).start()
    client = LspClient(
        [
            *prtrace_cmd(),
            "lsp",
            "--no-upload",
            "--",
            sys.executable,
            str(FAKE),
            str(tmp_path / "in.bin"),
            str(tmp_path / "out.bin"),
        ],
        env=proxy_env(repo),
        cwd=repo,
    )
    try:
        client.initialize(repo)
        path = repo / "src" / "app.py"
        uri = path.as_uri()
        client.notify(
            "textDocument/didOpen",
            {"textDocument": {"uri": uri, "languageId": "python", "version": 1, "text": APP}},
        )
        edited = APP.replace("x + 1", "x + 10")
        client.notify(
            "textDocument/didChange",
            {"textDocument": {"uri": uri, "version": 2}, "contentChanges": [{"text": edited}]},
        )
        path.write_text(edited)  # the editor writes the file, then tells the server
        client.notify("textDocument/didSave", {"textDocument": {"uri": uri}})
        wait_for(lambda: [e for e in spooled(repo, "edit")], what="the proxy's edit")
        assert client.shutdown() == 0
        subprocess.run(["sed", "-i", "s/x + 10/x + 11/", "src/app.py"], cwd=repo, check=True)
        _wait_fs(repo, 1)
    finally:
        watcher.stop()  # records anything still dirty or waiting for the editor
    edits = spooled(repo, "edit")
    assert len(edits) == 1 and edits[0]["after_hash"] == text_hash(edited)
    changes = [e for e in fs_events(repo) if e["path"] == "src/app.py"]
    assert len(changes) == 1  # the sed, not the save the proxy recorded
    assert changes[0]["before_hash"] == edits[0]["after_hash"]  # the chain holds
    assert apply_patch(edited, changes[0]["patch_unified"]) == path.read_text()


def _from_editor(recording: Recording, method: str, params: dict, id: int | None = None) -> None:
    """One message as the proxy hands it to its worker: a copy of the editor's bytes."""
    msg = {"jsonrpc": "2.0", "method": method, "params": params}
    if id is not None:
        msg["id"] = id
    recording.queue.put(("c2s", time.time(), frame(json.dumps(msg).encode())))


def test_a_save_the_lsp_recorder_records_late_is_not_recorded_twice(repo: Path) -> None:
    """The race behind the double recording, played out step by step: the editor's save
    reaches the disk (and the watcher) before its recorder has seen any of the editor's
    messages — it is seconds behind on a loaded machine — and the file changes again
    before the recorder catches up. The watcher must wait for the recorder (not for a
    clock), then take the save as the editor's and diff the next change from it.

    The worker is the real one (``Recording``), fed by hand, so it lags exactly as long
    as the test says; the proxy's part is its registration and its ticks."""
    watcher = FileWatcher(repo, debounce=0.05).start()
    wait_for(spool_path(repo).exists, what="the watcher's spool")
    recording = Recording(upload=False, guess=repo)
    assert register(repo, recording.progress.session_id, os.getpid())  # as `prtrace lsp` does
    worker = threading.Thread(target=recording.run)
    worker.start()
    path, rel = repo / "src" / "app.py", "src/app.py"
    saved, changed = APP.replace("x + 1", "x + 10"), APP.replace("x + 1", "x + 11")
    try:
        path.write_text(saved)  # the editor's save; its didChange is still on the way
        wait_for(lambda: len(watcher._pending.get(rel, ())) == 1, what="the save, pending")
        path.write_text(changed)  # someone else, before the recorder caught up
        wait_for(lambda: len(watcher._pending.get(rel, ())) == 2, what="the change, pending")
        with Spool(spool_path(repo)) as spool:
            assert [r.seen for r in spool.lsp_progress()] == [0.0]
            assert spool.lsp_progress()[0].wanted > 0  # the watcher asked for news
        assert fs_events(repo) == []

        # The recorder catches up: the editor's messages, then the proxy's tick after them.
        uri = path.as_uri()
        _from_editor(
            recording,
            "initialize",
            {"processId": None, "rootUri": repo.as_uri(), "capabilities": {}},
            id=1,
        )
        _from_editor(
            recording,
            "textDocument/didOpen",
            {"textDocument": {"uri": uri, "languageId": "python", "version": 1, "text": APP}},
        )
        _from_editor(
            recording,
            "textDocument/didChange",
            {"textDocument": {"uri": uri, "version": 2}, "contentChanges": [{"text": saved}]},
        )
        _from_editor(recording, "textDocument/didSave", {"textDocument": {"uri": uri}})
        recording.queue.put(("tick", math.inf, b""))  # the editor closed its end: nothing more
        _wait_fs(repo, 1)
    finally:
        recording.queue.put(None)
        worker.join()
        watcher.stop()
    with Spool(spool_path(repo)) as spool:
        assert spool.lsp_progress() == []  # a worker that is gone is waited for by no one
    edits = spooled(repo, "edit")
    assert len(edits) == 1 and edits[0]["after_hash"] == text_hash(saved)
    changes = [e for e in fs_events(repo) if e["path"] == rel]
    assert len(changes) == 1  # the other change, not the save the recorder took late
    assert changes[0]["before_hash"] == edits[0]["after_hash"]  # diffed from the save
    assert apply_patch(saved, changes[0]["patch_unified"]) == changed
