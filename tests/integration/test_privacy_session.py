"""A recorded session full of planted secrets, end to end through the real programs:
``prtrace record start`` (its daemon's file watcher), ``prtrace lsp`` in front of pylsp,
``prtrace note``, ``prtrace run``, ``prtrace record stop``, against ``prtrace serve``.

None of the 58 secrets reaches the spool, the backend's database, its blob store or any
log (every file under ``.prtrace/`` and the server's home is grepped, and everything the
programs printed), the placeholders are where the secrets were, and the editor's edits
still replay exactly — over the redacted text. A paused or not-opted-in workspace
records nothing at all. A second client that does not redact is caught by the server.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import msgspec
import pytest

from prtrace.client import Client
from prtrace.hashing import text_hash
from prtrace.patches import apply_patch
from prtrace.redaction import Redactor, load_privacy_config
from tests.support.lsp_support import LspClient, proxy_env, prtrace_cmd, spooled_events
from tests.support.privacy_corpus import CORPUS, needles
from tests.support.services import service_required

BASE = "def main():\n    return 1\n"
LINES = [line.format(s=secret) for _, secret, line in CORPUS]
EDITOR_A, EDITOR_B = LINES[:18], LINES[18:28]
NOTES, COMMANDS = LINES[28:38], LINES[38:56]
WATCHED = LINES[56:]
EVERY_NEEDLE = sorted({n for _, secret, _ in CORPUS for n in needles(secret)})


def _pylsp() -> str:
    exe = Path(sys.executable).with_name("pylsp")
    found = str(exe) if exe.exists() else shutil.which("pylsp")
    if not found:
        service_required("pylsp is not installed (pip install the dev extra)")
    return str(found)


def _cli(
    ws: Path, env: dict[str, str], *args: str, check: bool = True
) -> subprocess.CompletedProcess:
    done = subprocess.run(
        [*prtrace_cmd(), *args],
        check=False,
        env=env,
        cwd=ws,
        capture_output=True,
        text=True,
        timeout=180,
    )
    if check:
        assert done.returncode == 0, done.stderr
    return done


def _leaks(blob: bytes) -> list[str]:
    return [n for n in EVERY_NEEDLE if n.encode() in blob]


def _grep_tree(root: Path) -> dict[str, list[str]]:
    found = {}
    for path in root.rglob("*"):
        if path.is_file():
            leaks = _leaks(path.read_bytes())
            if leaks:
                found[str(path)] = leaks[:3]
    return found


def _wait(predicate, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def _edit_session(ws: Path, env: dict[str, str], printed: list[bytes]) -> str:
    """Open app.py in pylsp through the proxy, paste secrets in two bursts, save twice."""
    client = LspClient([*prtrace_cmd(), "lsp", "--idle-gap", "60", "--", _pylsp()], env=env, cwd=ws)
    try:
        client.initialize(ws)
        uri = (ws / "app.py").as_uri()
        client.notify(
            "textDocument/didOpen",
            {"textDocument": {"uri": uri, "languageId": "python", "version": 1, "text": BASE}},
        )
        text, version = BASE, 1
        for group, end_with in ((EDITOR_A, "save"), (EDITOR_B, "definition")):
            for line in group:
                lines = text.count("\n")
                version += 1
                client.notify(
                    "textDocument/didChange",
                    {
                        "textDocument": {"uri": uri, "version": version},
                        "contentChanges": [
                            {
                                "range": {
                                    "start": {"line": lines, "character": 0},
                                    "end": {"line": lines, "character": 0},
                                },
                                "text": line + "\n",
                            }
                        ],
                    },
                )
                text += line + "\n"
            if end_with == "definition":
                client.request(
                    "textDocument/definition",
                    {"textDocument": {"uri": uri}, "position": {"line": 0, "character": 4}},
                )
            client.notify("textDocument/didSave", {"textDocument": {"uri": uri}})
        client.notify("textDocument/didClose", {"textDocument": {"uri": uri}})
        assert client.shutdown() == 0
    finally:
        printed.append(bytes(client.stderr))  # the proxy's and pylsp's log
    return text


def test_planted_secrets_never_stored_and_replay_holds(tmp_path: Path, prtrace_server) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / ".prtrace.toml").write_text("[privacy]\n")
    env = proxy_env(ws, PRTRACE_URL=prtrace_server.url, PRTRACE_API_TOKEN=prtrace_server.api_token)
    printed: list[bytes] = []

    def cli(*args: str) -> subprocess.CompletedProcess:
        done = _cli(ws, env, *args)
        # `prtrace run` passes the command's own output through to the developer's
        # terminal (stdout here): that is theirs, not a log; the rest is ours.
        printed.extend([done.stderr.encode(), b"" if args[0] == "run" else done.stdout.encode()])
        return done

    started = json.loads(
        cli(
            "record",
            "start",
            "--repository",
            f"https://deploy:{CORPUS[42][1]}@git.example.com/r.git",
            "--commit",
            "abcd1234",
            "--task",
            "T-8",
            "--json",
        ).stdout
    )
    trace_id = started["trace_id"]

    final_raw = _edit_session(ws, env, printed)
    for line in NOTES:
        cli("note", line, "--tag", "secret")
    for line in COMMANDS:
        cli("run", "--", sys.executable, "-c", "import sys; print(sys.argv[1])", line)
    # Output over the server's blob threshold (64 KiB): the blob store is checked too.
    cli("run", "--", sys.executable, "-c", f"print('x' * 70000); print({COMMANDS[0]!r})")
    (ws / "settings.yaml").write_text("\n".join(WATCHED) + "\n")  # the daemon's watcher
    _wait(
        lambda: any(e.get("path") == "settings.yaml" for e in spooled_events(ws)),
        60,
        "the watcher's event for settings.yaml",
    )
    cli("record", "stop", "--json")

    # 1. Nothing anywhere: the workspace's state, the server's home (database, blobs,
    #    log), and whatever the programs printed.
    assert _grep_tree(ws / ".prtrace") == {}
    assert _grep_tree(prtrace_server.home) == {}
    assert [n for out in printed for n in _leaks(out)] == []

    # 2. Placeholders where the secrets were.
    with Client(prtrace_server.url, prtrace_server.api_token) as api:
        document = api.get_trace_raw(trace_id)
        trace = api.get_trace(trace_id)
    body = bytes(document).decode()
    for label, _, _ in CORPUS:
        assert f"<redacted:{label}>" in body, label
    assert trace.task.repository == "https://deploy:<redacted:url-password>@git.example.com/r.git"
    kinds = {type(e).__name__ for e in trace.events}
    assert {"Edit", "Thought", "TerminalCommand", "FileCreated"} <= kinds

    # 3. Replay: the edits chain from the opened text to the saved one, over the
    #    redacted text, and reproduce exactly what the recorder's redaction gives.
    redact = Redactor(load_privacy_config(ws)).text
    events = [e for e in trace.events if getattr(e, "path", None) == "app.py"]
    opened = next(e for e in events if type(e).__name__ == "FileOpened")
    text = BASE
    assert opened.hash == text_hash(redact(text))
    edits = [e for e in events if type(e).__name__ == "Edit"]
    assert len(edits) == 2
    for edit in edits:
        assert edit.before_hash == text_hash(text)
        text = apply_patch(text, edit.patch_unified)
        assert edit.after_hash == text_hash(text)
    assert text == redact(final_raw) and text != final_raw
    saved = [e for e in events if type(e).__name__ == "FileSaved"]
    assert saved[-1].hash == text_hash(text)
    # The watcher diffs and hashes the redacted file too.
    created = next(e for e in trace.events if getattr(e, "path", None) == "settings.yaml")
    watched = redact("\n".join(WATCHED) + "\n")
    assert apply_patch("", created.patch_unified) == watched and created.hash == text_hash(watched)


def test_a_client_that_does_not_redact_is_caught_by_the_server(prtrace_server) -> None:
    from prtrace.trace import Developer, Task

    with Client(prtrace_server.url, prtrace_server.api_token) as api:
        created = api.create_trace(Developer(id="dev"), Task(repository="r", commit="abc1234"))
        events = [
            msgspec.Raw(
                json.dumps(
                    {
                        "type": "terminal_command",
                        "id": f"x-{i}",
                        "t": "2026-01-01T00:00:00Z",
                        "session_id": "x",
                        "cmd": line,
                        "stdout": (line + "\n") * (1 if i % 2 else 400),
                    }
                ).encode()
            )
            for i, line in enumerate(LINES)
        ]
        api.upload_events(created.trace_id, 0, events, token=created.upload_token)
        body = bytes(api.get_trace_raw(created.trace_id)).decode()
    assert _grep_tree(prtrace_server.home) == {}
    assert _leaks(body.encode()) == []
    assert body.count("<redacted:") >= 2 * len(LINES)


def test_not_opted_in_or_paused_records_nothing(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    env = proxy_env(ws)
    env.pop("PRTRACE_WORKSPACE")  # the editor names no workspace: only its root
    subprocess.run(["git", "init", "-q", str(ws)], check=True)

    def session() -> None:
        _edit_session(ws, env, [])
        _cli(ws, env, "note", "a note", check=False)
        _cli(ws, env, "run", "--no-upload", "--", "echo", "hello", check=False)

    session()
    assert not (ws / ".prtrace" / "spool.db").exists()  # nothing, not even an empty spool
    assert spooled_events(ws) == []

    (ws / ".prtrace.toml").write_text("[privacy]\n")
    _cli(ws, env, "record", "pause")
    session()
    assert spooled_events(ws) == []

    _cli(ws, env, "record", "resume")  # the same session now records: the test can fail
    session()
    kinds = {e["type"] for e in spooled_events(ws)}
    assert {"file_opened", "edit", "thought", "terminal_command"} <= kinds


@pytest.mark.parametrize("database", ["sqlite", "postgres"])
def test_delete_removes_the_trace_and_only_its_own_blobs(
    tmp_path: Path, database: str, start_prtrace_server, request: pytest.FixtureRequest
) -> None:
    from prtrace.client import PrtraceError
    from prtrace.trace import Developer, Task

    env = (
        {"PRTRACE_DATABASE_URL": request.getfixturevalue("pg_url")}
        if database == "postgres"
        else {}
    )
    prtrace_server = start_prtrace_server(env=env)

    big_shared, big_own = "s" * 70_000, "o" * 70_000
    blobs = prtrace_server.home / "blobs"

    def trace(outputs: list[str]) -> tuple[str, str]:
        created = api.create_trace(Developer(id="dev"), Task(repository="r", commit="abc1234"))
        events = [
            msgspec.Raw(
                json.dumps(
                    {
                        "type": "terminal_command",
                        "id": f"c-{i}",
                        "t": "2026-01-01T00:00:00Z",
                        "session_id": "c",
                        "cmd": "make",
                        "stdout": out,
                    }
                ).encode()
            )
            for i, out in enumerate(outputs)
        ]
        api.upload_events(created.trace_id, 0, events, token=created.upload_token)
        api.finalize(created.trace_id, token=created.upload_token)
        return created.trace_id, created.upload_token

    with Client(prtrace_server.url, prtrace_server.api_token) as api:
        doomed, token = trace([big_shared, big_own])
        kept, _ = trace([big_shared])
        files_before = {p.name for p in blobs.rglob("*") if p.is_file()}
        with pytest.raises(PrtraceError) as refused:  # an upload token may not delete
            Client(prtrace_server.url, token).delete_trace(doomed)
        assert refused.value.status_code in (401, 403)
        result = api.delete_trace(doomed)
        assert (result.events, result.blobs_kept) == (2, 1) and result.blobs_deleted >= 2
        with pytest.raises(PrtraceError) as gone:
            api.get_trace(doomed)
        assert gone.value.status_code == 404
        assert api.get_trace(kept).events[0].stdout == big_shared  # the shared blob survives
        files_after = {p.name for p in blobs.rglob("*") if p.is_file()}
    assert f"{doomed}.json" in files_before and f"{doomed}.json" not in files_after
    own_key = __import__("hashlib").sha256(big_own.encode()).hexdigest()
    assert own_key in files_before and own_key not in files_after
    done = _cli(
        tmp_path,
        {
            **os.environ,
            "PRTRACE_URL": prtrace_server.url,
            "PRTRACE_API_TOKEN": prtrace_server.api_token,
        },
        "trace",
        "delete",
        kept,
        "--json",
    )
    assert json.loads(done.stdout)["blobs_deleted"] >= 2
