"""The recorder's parts without processes: framing, positions, documents, edit
bursts, the recorder's message → event mapping, the spool's batches."""

from __future__ import annotations

import json
import random
from pathlib import Path

import msgspec
import pytest

from prtrace.events import Event
from prtrace.hashing import text_hash
from prtrace.recorder.lsp.documents import Document
from prtrace.recorder.lsp.edits import summarize, unified_patch
from prtrace.recorder.lsp.framing import MessageFramer, frame
from prtrace.recorder.lsp.positions import char_index, index_to_position, split_lines
from prtrace.recorder.lsp.recorder import LspRecorder
from prtrace.recorder.pipeline.emitter import EventEmitter
from prtrace.recorder.pipeline.spool import Spool

# --- framing ------------------------------------------------------------------------


def test_framer_reassembles_any_chunking() -> None:
    bodies = [json.dumps({"id": i, "x": "é" * i}).encode() for i in range(50)]
    bodies.append(b"x" * (3 * 1024 * 1024))  # a multi-MB body
    stream = b"".join(frame(b) for b in bodies)
    stream = stream.replace(
        b"Content-Length: 5\r\n",
        b"Content-Length: 5\r\nContent-Type: application/vscode-jsonrpc; charset=utf-8\r\n",
    )
    rng = random.Random(7)
    framer = MessageFramer()
    out: list[bytes] = []
    pos = 0
    while pos < len(stream):
        step = rng.choice([1, 2, 7, 100, 4096, 1 << 20])
        out += framer.feed(stream[pos : pos + step])
        pos += step
    assert out == bodies
    assert framer.pending == 0


def test_framer_accepts_content_type_and_header_case() -> None:
    body = b'{"jsonrpc":"2.0","method":"x"}'
    data = (
        b"content-type: application/vscode-jsonrpc; charset=utf-8\r\ncontent-length: %d\r\n\r\n"
        % len(body)
        + body
    )
    assert MessageFramer().feed(data * 3) == [body] * 3


def test_framer_skips_garbage_header() -> None:
    framer = MessageFramer()
    assert framer.feed(b"Bogus: 1\r\n\r\n" + frame(b"{}")) == [b"{}"]
    assert framer.errors == 1


# --- positions and documents ----------------------------------------------------------


def test_split_lines_keeps_terminators() -> None:
    assert split_lines("a\nb\r\nc\rd") == ["a\n", "b\r\n", "c\r", "d"]
    assert split_lines("a\n") == ["a\n", ""]
    assert split_lines("") == [""]


@pytest.mark.parametrize(
    ("encoding", "character", "index"),
    [("utf-16", 3, 2), ("utf-8", 5, 2), ("utf-32", 2, 2), ("utf-16", 99, 4)],
)
def test_char_index_counts_in_the_encoding(encoding: str, character: int, index: int) -> None:
    line = "a😀bc\n"  # 😀 is 2 UTF-16 units, 4 UTF-8 bytes, 1 code point
    assert char_index(line, character, encoding) == index  # type: ignore[arg-type]


def test_index_to_position_round_trips() -> None:
    text = "x😀y\nsecond 😀 line\r\nthird"
    for encoding in ("utf-8", "utf-16", "utf-32"):
        for idx in range(len(text) + 1):
            line, char = index_to_position(text, idx, encoding)  # type: ignore[arg-type]
            lines = split_lines(text)
            back = sum(len(l) for l in lines[:line]) + char_index(lines[line], char, encoding)  # type: ignore[arg-type]
            if text[idx - 1 : idx + 1] != "\r\n":
                assert back == idx, (encoding, idx)


def _splice(text: str, start: int, end: int, new: str) -> str:
    return text[:start] + new + text[end:]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16", "utf-32"])
def test_document_follows_random_incremental_edits(encoding: str) -> None:
    rng = random.Random(encoding)
    alphabet = ["a", "b", " ", "\n", "\r\n", "é", "😀", "\t"]
    text = "".join(rng.choice(alphabet) for _ in range(200))
    doc = Document.opened("file:///x", "x", None, 1, text)
    for _ in range(400):
        start = rng.randint(0, len(text))
        end = rng.randint(start, min(len(text), start + 10))
        # Never cut a \r\n pair: an editor cannot put a cursor between them.
        if text[start - 1 : start + 1] == "\r\n":
            start -= 1
        if text[end - 1 : end + 1] == "\r\n":
            end += 1
        new = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 4)))
        s = index_to_position(text, start, encoding)  # type: ignore[arg-type]
        e = index_to_position(text, end, encoding)  # type: ignore[arg-type]
        doc.apply(s, e, new, encoding)  # type: ignore[arg-type]
        text = _splice(text, start, end, new)
        assert doc.text == text
    assert doc.lines == split_lines(text)


def test_document_clamps_past_the_end() -> None:
    doc = Document.opened("file:///x", "x", None, 1, "ab\ncd")
    doc.apply((1, 99), (7, 0), "!", "utf-16")
    assert doc.text == "ab\ncd!"


# --- edit summaries -----------------------------------------------------------------


def test_edit_range_is_in_the_before_text() -> None:
    summary = summarize("def f():\n    return 1\n", "def f():\n    return 42\n", "m.py", "utf-16")
    assert summary is not None and summary.op == "replace"
    assert (summary.start, summary.end) == ((1, 11), (1, 12))


def test_no_change_no_summary() -> None:
    assert summarize("same", "same", "m.py", "utf-16") is None
    assert unified_patch("same", "same", "m.py") == ""


# --- the recorder, fed a scripted stream ------------------------------------------------


def _msg(obj: dict) -> bytes:
    return frame(json.dumps({"jsonrpc": "2.0", **obj}).encode())


class Script:
    """Feeds a recorder both directions of a conversation, as the proxy would."""

    def __init__(self, tmp_path: Path, idle_gap: float = 1.5) -> None:
        self.root = tmp_path
        self.emitter = EventEmitter(session_id="ses_test")
        self.emitter.emitted = []
        self.rec = LspRecorder(self.emitter, root=tmp_path, idle_gap=idle_gap)
        self.t = 1000.0

    def c2s(self, obj: dict, dt: float = 0.01) -> None:
        self.t += dt
        self.rec.feed("c2s", self.t, _msg(obj))

    def s2c(self, obj: dict, dt: float = 0.01) -> None:
        self.t += dt
        self.rec.feed("s2c", self.t, _msg(obj))

    def uri(self, name: str) -> str:
        return (self.root / name).as_uri()

    @property
    def events(self) -> list:
        return list(self.emitter.emitted or [])

    def types(self) -> list[str]:
        return [type(e).__struct_config__.tag for e in self.events]


def _open(s: Script, name: str, text: str) -> None:
    s.c2s(
        {
            "method": "textDocument/didOpen",
            "params": {
                "textDocument": {
                    "uri": s.uri(name),
                    "languageId": "python",
                    "version": 1,
                    "text": text,
                }
            },
        }
    )


def _change(s: Script, name: str, version: int, changes: list[dict], dt: float = 0.05) -> None:
    s.c2s(
        {
            "method": "textDocument/didChange",
            "params": {
                "textDocument": {"uri": s.uri(name), "version": version},
                "contentChanges": changes,
            },
        },
        dt,
    )


def _rng(l1: int, c1: int, l2: int, c2: int) -> dict:
    return {"start": {"line": l1, "character": c1}, "end": {"line": l2, "character": c2}}


def test_burst_coalesces_until_save(tmp_path: Path) -> None:
    s = Script(tmp_path)
    _open(s, "m.py", "x = 1\n")
    for i, ch in enumerate("abc"):
        _change(s, "m.py", 2 + i, [{"range": _rng(1, i, 1, i), "text": ch}])
    s.c2s({"method": "textDocument/didSave", "params": {"textDocument": {"uri": s.uri("m.py")}}})
    assert s.types() == ["file_opened", "edit", "file_saved"]
    opened, edit, saved = s.events
    assert opened.path == "m.py" and opened.hash == text_hash("x = 1\n")
    assert edit.changes == 3 and edit.op == "insert" and edit.version == 4
    assert edit.before_hash == opened.hash
    assert edit.after_hash == saved.hash == text_hash("x = 1\nabc")
    assert (edit.range.start.line, edit.range.start.character) == (1, 0)


def test_idle_gap_and_file_switch_end_bursts(tmp_path: Path) -> None:
    s = Script(tmp_path, idle_gap=1.0)
    _open(s, "a.py", "")
    _open(s, "b.py", "")
    _change(s, "a.py", 2, [{"range": _rng(0, 0, 0, 0), "text": "1"}])
    _change(s, "a.py", 3, [{"range": _rng(0, 1, 0, 1), "text": "2"}], dt=2.0)  # after a gap
    _change(s, "b.py", 2, [{"text": "full text"}])  # switch file, full sync
    s.rec.tick(s.t + 5)
    edits = [e for e in s.events if type(e).__name__ == "Edit"]
    assert [(e.path, e.changes) for e in edits] == [("a.py", 1), ("a.py", 1), ("b.py", 1)]
    assert edits[0].after_hash == edits[1].before_hash


def test_definition_pairs_answer_even_when_it_overtakes(tmp_path: Path) -> None:
    s = Script(tmp_path)
    _open(s, "m.py", "def func():\n    pass\nfunc()\n")
    target = {"uri": s.uri("lib/x.py"), "range": _rng(4, 4, 4, 8)}
    # The answer's copy arrives first (the other pump won the race), then the request.
    s.s2c({"id": 7, "result": [target]})
    s.t -= 0.002
    s.c2s(
        {
            "id": 7,
            "method": "textDocument/definition",
            "params": {
                "textDocument": {"uri": s.uri("m.py")},
                "position": {"line": 2, "character": 2},
            },
        },
        dt=0,
    )
    s.c2s(
        {
            "id": 8,
            "method": "textDocument/typeDefinition",
            "params": {
                "textDocument": {"uri": s.uri("m.py")},
                "position": {"line": 2, "character": 2},
            },
        }
    )
    s.s2c(
        {
            "id": 8,
            "result": {
                "targetUri": s.uri("m.py"),
                "targetRange": _rng(0, 0, 1, 8),
                "targetSelectionRange": _rng(0, 4, 0, 8),
            },
        }
    )
    nav = [e for e in s.events if type(e).__name__ == "GoToDefinition"]
    assert len(nav) == 2
    assert nav[0].symbol == "func" and nav[0].kind == "definition"
    assert nav[0].targets[0].path == "lib/x.py" and nav[0].targets[0].line == 5
    assert nav[0].range.start.character == 0 and nav[0].range.end.character == 4
    assert nav[0].latency_ms is not None and nav[0].latency_ms >= 0
    assert nav[1].kind == "typeDefinition" and nav[1].targets[0].line == 1
    assert nav[1].targets[0].range.start.character == 4


def test_negotiated_utf8_positions(tmp_path: Path) -> None:
    s = Script(tmp_path)
    s.c2s(
        {
            "id": 1,
            "method": "initialize",
            "params": {
                "rootUri": tmp_path.as_uri(),
                "capabilities": {"general": {"positionEncodings": ["utf-8", "utf-16"]}},
            },
        }
    )
    s.s2c({"id": 1, "result": {"capabilities": {"positionEncoding": "utf-8"}}})
    _open(s, "u.py", "é = 1\n")
    # In UTF-8 "é" is 2 units: character 2 is just after it.
    _change(s, "u.py", 2, [{"range": _rng(0, 2, 0, 2), "text": "x"}])
    s.rec.close()
    edit = s.events[-1]
    assert s.rec.encoding == "utf-8"
    assert edit.after_hash == text_hash("éx = 1\n")
    assert edit.range.start.character == 1  # recorded in the trace's UTF-16 (test_record_positions)


def test_diagnostics_only_when_counts_change(tmp_path: Path) -> None:
    s = Script(tmp_path)
    diag = {"range": _rng(0, 0, 0, 1), "severity": 1, "message": "boom", "code": 12}
    warn = {"range": _rng(1, 0, 1, 1), "severity": 2, "message": "hmm"}
    for diags in ([], [diag], [diag], [diag, warn], [diag, warn, {**warn, "severity": 3}], []):
        s.s2c(
            {
                "method": "textDocument/publishDiagnostics",
                "params": {"uri": s.uri("m.py"), "diagnostics": diags},
            }
        )
    got = [(e.errors, e.warnings) for e in s.events]
    assert got == [(1, 0), (1, 1), (0, 0)]
    assert s.events[0].items[0].code == "12" and s.events[0].items[0].severity == "error"


def test_references_rename_and_code_action(tmp_path: Path) -> None:
    s = Script(tmp_path)
    _open(s, "m.py", "value = 1\nprint(value)\n")
    pos = {"textDocument": {"uri": s.uri("m.py")}, "position": {"line": 1, "character": 8}}
    s.c2s({"id": 1, "method": "textDocument/references", "params": {**pos, "context": {}}})
    s.s2c(
        {
            "id": 1,
            "result": [
                {"uri": s.uri("m.py"), "range": _rng(0, 0, 0, 5)},
                {"uri": s.uri("m.py"), "range": _rng(1, 6, 1, 11)},
                {"uri": s.uri("t.py"), "range": _rng(3, 0, 3, 5)},
            ],
        }
    )
    s.c2s({"id": 2, "method": "textDocument/rename", "params": {**pos, "newName": "total"}})
    s.s2c(
        {
            "id": 2,
            "result": {
                "changes": {
                    s.uri("m.py"): [
                        {"range": _rng(0, 0, 0, 5), "newText": "total"},
                        {"range": _rng(1, 6, 1, 11), "newText": "total"},
                    ]
                }
            },
        }
    )
    s.c2s(
        {
            "id": 3,
            "method": "textDocument/codeAction",
            "params": {
                "textDocument": {"uri": s.uri("m.py")},
                "range": _rng(0, 0, 0, 0),
                "context": {"diagnostics": []},
            },
        }
    )
    s.s2c(
        {
            "id": 3,
            "result": [
                {
                    "title": "Extract variable",
                    "kind": "refactor.extract",
                    "command": {"title": "Extract variable", "command": "x.extract"},
                }
            ],
        }
    )
    s.c2s({"id": 4, "method": "workspace/executeCommand", "params": {"command": "x.extract"}})
    refs, rename, action = s.events[1:]
    assert refs.count == 3 and refs.files == ["m.py", "t.py"] and refs.symbol == "value"
    assert rename.new_name == "total" and rename.edits == 2 and rename.files == ["m.py"]
    assert action.title == "Extract variable" and action.kind == "refactor.extract"
    assert action.path == "m.py"


def test_events_validate_against_the_trace_format(tmp_path: Path) -> None:
    s = Script(tmp_path)
    _open(s, "m.py", "a\n")
    _change(s, "m.py", 2, [{"range": _rng(0, 1, 0, 1), "text": "b"}])
    s.rec.close()
    for event in s.events:
        encoded = msgspec.json.encode(event)
        assert msgspec.json.decode(encoded, type=Event) == event
    assert len({e.id for e in s.events}) == len(s.events)


# --- the spool --------------------------------------------------------------------------


def test_spool_batches_keep_seq_and_events_across_reopen(tmp_path: Path) -> None:
    path = tmp_path / "spool.db"
    with Spool(path) as spool:
        spool.append([b'{"n":%d}' % i for i in range(5)])
        first = spool.next_batch("tr_a", max_events=3)
        assert first is not None and first.seq == 0 and len(first.events) == 3
    # "Crash" before the batch was acknowledged: a new connection finds the same batch.
    with Spool(path) as spool:
        again = spool.next_batch("tr_a", max_events=3)
        assert again == first
        spool.mark_delivered(again)
        second = spool.next_batch("tr_a")
        assert second is not None and second.seq == 1 and second.events == [b'{"n":3}', b'{"n":4}']
        spool.dissolve(second, "sealed")
        assert spool.next_batch("tr_a") is None  # the trace is closed
        third = spool.next_batch("tr_b")  # the events wait for the next trace
        assert third is not None and third.seq == 0 and third.events == second.events
        counts = spool.counts("tr_b")
        assert (counts.pending, counts.unsent) == (2, 0)


def test_find_root_prefers_prtrace_then_git_and_never_invents_folders(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from prtrace.recorder.session.workspace import PathMapper, find_root

    monkeypatch.delenv("PRTRACE_WORKSPACE", raising=False)
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / "sub" / "deeper").mkdir(parents=True)
    assert find_root(repo / "sub" / "deeper") == repo
    (repo / "sub" / ".prtrace").mkdir()
    assert find_root(repo / "sub" / "deeper") == repo / "sub"
    monkeypatch.chdir(tmp_path)
    assert find_root(tmp_path / "does-not-exist") == tmp_path
    monkeypatch.setenv("PRTRACE_WORKSPACE", str(repo))
    assert find_root(tmp_path) == repo
    paths = PathMapper(repo)
    assert paths.path((repo / "a b" / "c.py").as_uri()) == "a b/c.py"
    assert paths.path("file:///elsewhere/x.py") == "/elsewhere/x.py"
    assert paths.path("untitled:Untitled-1") is None
