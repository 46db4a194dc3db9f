"""The seed's dialect in process (issue 14): translation both ways, recognition, the
schema, the versions, and ``qa.tests`` writing every result. Over HTTP:
tests/integration/test_seed_dialect_api.py and test_seed_plain_client.py."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jsonschema
import msgspec
import pytest

from prtrace import TRACE_FORMAT_VERSION
from prtrace import events as ev
from prtrace.cli import main
from prtrace.dialects import seed
from prtrace.errors import FormatError
from prtrace.hashing import text_hash
from prtrace.replay import decode_document, unverifiable_edits
from prtrace.trace import QA, TestsResult

EXAMPLE = json.loads(
    (Path(__file__).parents[1] / "support" / "seed" / "trace-example.json").read_text()
)
T = datetime(2024, 1, 15, 10, 30, tzinfo=UTC)


def through_storage(event: Any) -> Any:
    """What the server stores and reads back: prtrace's JSON of the event."""
    return msgspec.json.decode(msgspec.json.encode(event), type=ev.Event)


@pytest.mark.parametrize("index", range(5))
def test_each_example_event_round_trips_exactly(index: int) -> None:
    sent = EXAMPLE["events"][index]
    assert seed.is_seed_event(sent)
    native = through_storage(seed.event_to_native(sent, 7, index))
    assert native.id == f"b7.{index}"
    back = seed.event_to_seed(native)
    assert back.pop("id") == f"b7.{index}"
    assert back == sent and list(back) == list(sent)


def test_the_example_maps_onto_prtraces_own_fields() -> None:
    gtd = seed.event_to_native(EXAMPLE["events"][1], 0, 1)
    assert isinstance(gtd, ev.GoToDefinition)
    assert (gtd.path, gtd.symbol) == ("src/main.go", "calculateTotal")
    assert gtd.range == ev.Range(
        start=ev.Position(line=10, character=5), end=ev.Position(line=10, character=20)
    )
    assert gtd.targets == [ev.Location(path="src/calculator.go", line=25)]
    edit = seed.event_to_native(EXAMPLE["events"][2], 0, 2)
    assert isinstance(edit, ev.Edit) and edit.before_hash == "abc123"
    assert unverifiable_edits([edit]) == [edit.id]
    command = seed.event_to_native(EXAMPLE["events"][3], 0, 3)
    assert isinstance(command, ev.TerminalCommand) and command.args == ["-v", "./..."]


def test_nulls_and_empty_values_come_back_as_sent() -> None:
    sent = {
        "t": "2024-01-15T10:30:30Z",
        "type": "terminal_command",
        "session_id": "s",
        "cmd": "make",
        "args": [],
        "cwd": None,
        "stderr": "",
    }
    back = seed.event_to_seed(through_storage(seed.event_to_native(sent, 0, 0)))
    back.pop("id")
    assert back == sent and list(back) == list(sent)


def test_a_native_event_in_the_seeds_shape_keeps_prtraces_extras_apart() -> None:
    native = ev.GoToDefinition(
        id="e1",
        t=T,
        session_id="ses",
        source="lsp",
        path="a.py",
        symbol="f",
        kind="declaration",
        targets=[ev.Location(path="b.py", line=3), ev.Location(path="c.py", line=9)],
    )
    shown = seed.event_to_seed(native)
    assert shown["source"] == {"file_path": "a.py", "symbol": "f"}
    assert shown["target"] == {"file_path": "b.py", "line": 3}
    assert shown["prtrace"] == {"kind": "declaration", "source": "lsp"}
    assert shown["targets"] == [{"file_path": "c.py", "line": 9}]
    saved = seed.event_to_seed(ev.FileSaved(id="e2", t=T, session_id="s", path="a.py"))
    assert saved == {
        "id": "e2",
        "t": "2024-01-15T10:30:00Z",
        "type": "file_saved",
        "session_id": "s",
        "file_path": "a.py",
    }


def test_recognition_per_event() -> None:
    assert seed.is_seed_event({"type": "thought", "t": "x", "session_id": "s", "raw": "r"})
    assert seed.is_seed_event({"id": "1", "type": "edit_made"})
    assert seed.is_seed_event({"id": "1", "type": "file_opened", "file_path": "a"})
    # prtrace's own event that forgot its id stays prtrace's (and hears "missing id").
    assert not seed.is_seed_event({"type": "file_opened", "path": "a", "t": "x"})
    assert not seed.is_seed_event({"id": "1", "type": "thought", "raw": "r"})


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (("source", "range", "start", "col"), "events[2].source.range.start.col"),
        (("target", "line"), "events[2].target.line"),
        (("source", "file_path"), "events[2].source.file_path"),
    ],
)
def test_errors_name_the_seeds_path(change: tuple[str, ...], field: str) -> None:
    event = json.loads(json.dumps(EXAMPLE["events"][1]))
    target = event
    for key in change[:-1]:
        target = target[key]
    target[change[-1]] = ["not", "this"]
    with pytest.raises(FormatError) as caught:
        seed.event_to_native(event, 0, 2, "events[2]")
    assert caught.value.field == field


def test_create_derives_the_developer_id_and_keeps_the_keys() -> None:
    body = {k: EXAMPLE[k] for k in ("developer", "task", "environment")}
    assert seed.is_seed_create(body)
    request, dialect = seed.create_to_native(json.loads(json.dumps(body)))
    assert request.developer.id == "string"  # the example's email
    assert request.developer.experience_level == "junior|mid|senior"
    assert request.task.complexity == "low|medium|high"
    assert request.environment.plugins == ["go", "gitlens"]
    assert dialect.derived == ["developer.id"]
    assert dialect.keys["environment"] == list(body["environment"])


def test_the_seed_schema_accepts_the_example_verbatim_and_refuses_prtraces_names() -> None:
    schema = seed.seed_schema()
    jsonschema.validate(EXAMPLE, schema)
    renamed = json.loads(json.dumps(EXAMPLE))
    renamed["events"][0]["path"] = renamed["events"][0].pop("file_path")
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(renamed, schema)


def test_schema_dialect_seed_prints_it(capsys: pytest.CaptureFixture[str]) -> None:
    assert main.main(["schema", "--dialect", "seed"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["title"] == "the seed's trace trace-1.0.0"
    jsonschema.validate(EXAMPLE, printed)


def test_versions_native_is_its_own_and_old_documents_still_decode() -> None:
    assert TRACE_FORMAT_VERSION == "prtrace-2.0.0" != seed.SEED_VERSION
    old = {
        "trace_id": "tr_old",
        "created_at": "2026-01-01T00:00:00Z",
        "version": "trace-1.0.0",
        "developer": {"id": "alice"},
        "task": {"repository": "r", "commit": "abcd"},
        "events": [
            {
                "type": "edit",
                "id": "e",
                "t": "2026-01-01T00:00:01Z",
                "session_id": "s",
                "path": "a",
                "op": "insert",
                "patch_unified": "",
                "before_hash": text_hash(""),
                "after_hash": text_hash("x"),
            }
        ],
        "qa": {"status": "done", "tests": {"ok": True, "passed": 3}},
    }
    trace = decode_document(json.dumps(old))
    assert trace.version == "trace-1.0.0" and trace.events[0].dialect is None
    assert trace.qa.tests is not None and trace.qa.tests.failed is None  # not written: unknown
    as_seed = decode_document(json.dumps(EXAMPLE))
    assert as_seed.developer.id == "string" and as_seed.events[1].path == "src/main.go"
    assert as_seed.qa.judge is not None and as_seed.qa.judge.overall == 4.0


def test_qa_tests_always_carry_the_results_in_both_formats() -> None:
    failed_run = TestsResult(ok=False, passed=2, failed=0, skipped=0, exit_code=1)
    written = msgspec.to_builtins(failed_run)
    assert {k: written[k] for k in ("ok", "passed", "failed", "skipped", "exit_code")} == {
        "ok": False,
        "passed": 2,
        "failed": 0,
        "skipped": 0,
        "exit_code": 1,
    }
    never_ran = msgspec.to_builtins(TestsResult())
    assert [never_ran[k] for k in ("ok", "passed", "failed", "skipped", "exit_code")] == [
        False,
        None,
        None,
        None,
        None,
    ]
    shown = seed.qa_to_seed(msgspec.to_builtins(QA(status="done", tests=failed_run)))
    assert shown["tests"] == {
        "runner": None,
        "image": None,
        "command": None,
        "ok": False,
        "stdout": "",
        "stderr": "",
        "exit_code": 1,
        "passed": 2,
        "failed": 0,
        "skipped": 0,
    }
