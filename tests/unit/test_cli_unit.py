"""The CLI without the backend: parsing, module loading, errors, schema, display (git
defaults and the CLI as a process: tests/integration/test_cli_git_and_processes.py)."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jsonschema
import msgspec
import pytest

from prtrace.cli import common, display, main
from prtrace.cli import trace as trace_cmd
from prtrace.errors import (
    ConfigError,
    FormatError,
    GitError,
    NotFoundError,
    PrtraceError,
    UsageError,
)
from prtrace.events import Edit, TerminalCommand, Thought
from prtrace.trace import QA, Artifacts, Developer, JudgeResult, Task, TestsResult, Trace

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
HASH = "0" * 64


def sample_trace() -> Trace:
    return Trace(
        trace_id="tr_sample",
        created_at=T0,
        status="sealed",
        sealed_at=T0 + timedelta(hours=1),
        developer=Developer(id="alice", name="Alice"),
        task=Task(
            repository="https://example.com/r.git",
            commit="abcdef1234",
            branch="main",
            test_command="pytest -q",
            test_image="prtrace/python:3.11",
        ),
        events=[
            Edit(
                id="e1",
                t=T0,
                session_id="s",
                path="src/a.py",
                op="replace",
                patch_unified="@@ -1 +1 @@\n-a\n+b\n",
                before_hash=HASH,
                after_hash="1" * 64,
            ),
            TerminalCommand(
                id="e2", t=T0 + timedelta(seconds=5), session_id="s", cmd="pytest -q", exit_code=1
            ),
            Thought(id="e3", t=T0 + timedelta(seconds=9), session_id="s", raw="the off-by-one"),
        ],
        artifacts=Artifacts(final_patch="diff --git a/x b/x\n--- a/x\n+++ b/x\n@@\n-a\n+b\n+c\n"),
        qa=QA(
            status="done",
            tests=TestsResult(ok=True, passed=3, failed=0, verdict="resolved"),
            judge=JudgeResult(status="done", overall=0.75, scores={"focus": 4.0}),
        ),
    )


# --- parser --------------------------------------------------------------------------


def parse(*argv: str) -> argparse.Namespace:
    return main.build_parser().parse_args(list(argv))


def test_every_command_of_mine_is_registered_with_a_handler():
    for argv in (
        ["serve"],
        ["worker"],
        ["schema"],
        ["trace", "list"],
        ["trace", "create"],
        ["trace", "show", "tr_1"],
        ["trace", "finalize", "tr_1"],
        ["trace", "qa", "tr_1"],
        ["trace", "export"],
    ):
        assert callable(parse(*argv).handler), argv


def test_url_and_token_work_before_and_after_the_subcommand():
    before = parse("--url", "http://a", "--token", "t1", "trace", "list")
    assert (before.url, before.token) == ("http://a", "t1")
    after = parse("trace", "list", "--url", "http://b")
    assert (after.url, after.token) == ("http://b", None)
    both = parse("--url", "http://a", "trace", "qa", "tr_1", "--url", "http://c")
    assert both.url == "http://c"


def test_serve_and_worker_options():
    args = parse("serve", "--host", "0.0.0.0", "--port", "9000", "--workers", "3")
    assert (args.host, args.port, args.workers) == ("0.0.0.0", 9000, 3)
    assert parse("serve").workers is None and parse("serve").port == 8000
    assert parse("worker", "--concurrency", "4").concurrency == 4


def test_list_filters_parse_times():
    args = parse("trace", "list", "--status", "sealed", "--since", "2024-05-01", "--limit", "7")
    assert args.status == "sealed" and args.limit == 7
    assert args.since == datetime(2024, 5, 1, tzinfo=UTC)
    assert trace_cmd._filters(args)["created_after"] == args.since


@pytest.mark.parametrize(
    "argv",
    [
        ["trace", "list", "--status", "weird"],
        ["trace", "list", "--limit", "0"],
        ["trace", "list", "--since", "yesterday-ish"],
        ["trace", "show"],
        ["nonsense"],
    ],
)
def test_bad_arguments_exit_2(argv, capsys):
    with pytest.raises(SystemExit) as info:
        main.main(argv)
    assert info.value.code == 2
    assert "prtrace" in capsys.readouterr().err


def test_no_command_prints_help_and_returns_2(capsys):
    assert main.main([]) == 2
    assert "trace" in capsys.readouterr().err
    assert main.main(["trace"]) == 2
    assert "finalize" in capsys.readouterr().err


def test_parse_time_forms():
    assert common.parse_time("2024-05-01T12:00:00Z") == T0
    assert common.parse_time("2024-05-01T14:00:00+02:00") == T0
    age = datetime.now(UTC) - common.parse_time("7d")
    assert timedelta(days=6, hours=23) < age < timedelta(days=7, hours=1)
    with pytest.raises(argparse.ArgumentTypeError):
        common.parse_time("soon")


# --- module loading ----------------------------------------------------------------------


def test_every_listed_command_module_exists():
    parser = main.build_parser()
    commands = parser._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    for name in main.COMMAND_MODULES:
        assert name.replace("_", "-") in commands


# --- errors ------------------------------------------------------------------------------


def run_raising(exc: BaseException, capsys) -> tuple[int, str]:
    def handler(args):
        raise exc

    code = common.run_handler(handler, argparse.Namespace())
    return code, capsys.readouterr().err


def test_errors_are_printed_as_prtrace_message_with_exit_codes(capsys):
    code, err = run_raising(NotFoundError("no such trace", status_code=404), capsys)
    assert (code, err) == (1, "prtrace: no such trace (HTTP 404)\n")
    code, err = run_raising(UsageError("--commit required"), capsys)
    assert (code, err) == (2, "prtrace: --commit required\n")
    code, err = run_raising(FormatError("bad", "events[0].t"), capsys)
    assert (code, err) == (2, "prtrace: events[0].t: bad\n")
    code, err = run_raising(ConfigError("config.toml: unknown setting(s) colour"), capsys)
    assert (code, err) == (2, "prtrace: config.toml: unknown setting(s) colour\n")
    code, err = run_raising(GitError(["git", "status"], 128, "fatal: not a repo\n"), capsys)
    assert (code, err) == (1, "prtrace: git status failed (128): fatal: not a repo\n")
    code, err = run_raising(PrtraceError("plain"), capsys)
    assert (code, err) == (1, "prtrace: plain\n")
    assert run_raising(KeyboardInterrupt(), capsys) == (130, "prtrace: interrupted\n")


def test_no_subcommand_catches_to_report():
    """Errors become messages in one place (common.run_handler), not in each command."""
    import re

    for name in (*main.COMMAND_MODULES, "record_privacy"):
        path = Path(main.__file__).with_name(f"{name}.py")
        text = path.read_text()
        assert not re.search(
            r"except\s*\(?[^)\n]*\b(RuntimeError|PrtraceError|SessionError"
            r"|CheckoutError|GitError|APIError)\b",
            text,
        ), path.name


def test_unexpected_exceptions_are_not_hidden(capsys):
    with pytest.raises(ZeroDivisionError):
        run_raising(ZeroDivisionError("bug"), capsys)


def test_missing_backend_module_says_how_to_install():
    with pytest.raises(PrtraceError, match=r"prtrace\[backend\]"):
        common.import_backend("backend.no_such_module_here")


def test_finalize_with_an_unreadable_patch_is_a_usage_error(tmp_path, capsys):
    code = main.main(["trace", "finalize", "tr_1", "--patch", str(tmp_path / "missing.diff")])
    assert code == 2
    assert "cannot read the patch" in capsys.readouterr().err


def test_read_patch_from_stdin(monkeypatch):
    import io

    monkeypatch.setattr(sys, "stdin", io.StringIO("diff --git a/x b/x\n"))
    assert trace_cmd.read_patch("-") == "diff --git a/x b/x\n"
    assert trace_cmd.read_patch(None) is None


# --- schema ----------------------------------------------------------------------------------


def test_schema_command_prints_a_valid_schema_that_accepts_a_trace(capsys):
    assert main.main(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    jsonschema.Draft202012Validator.check_schema(schema)
    document = json.loads(msgspec.json.encode(sample_trace()))
    jsonschema.validate(document, schema)
    document["events"][0]["type"] = "not_an_event"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(document, schema)


# --- display ------------------------------------------------------------------------------------


def test_trace_summary_mentions_what_matters():
    text = "\n".join(display.trace_summary(sample_trace(), events=2))
    assert "tr_sample  [sealed]" in text
    assert "alice (Alice)" in text
    assert "https://example.com/r.git @ abcdef1234 (main)" in text
    assert "events      3  (edit 1, terminal_command 1, thought 1)" in text
    assert "patch       1 file, +2 -1" in text
    assert "tests     ok: 3 passed, 0 failed, verdict resolved" in text
    assert "judge     done, overall 0.75  (focus 4)" in text
    assert "edit              src/a.py" in text
    assert "pytest -q  (exit 1)" in text
    assert "the off-by-one" not in text and "1 more" in text


def test_table_aligns_columns(capsys):
    common.print_table([["a", "bbbb", "c"], ["dddd", "e", "f"]], ["H1", "H2", "H3"])
    assert capsys.readouterr().out == "H1    H2    H3\na     bbbb  c\ndddd  e     f\n"


def test_print_json_is_one_document(capsys):
    common.print_json({"traces": [sample_trace()]})
    decoded = json.loads(capsys.readouterr().out)
    assert decoded["traces"][0]["trace_id"] == "tr_sample"


def test_serve_workers_flag_overrides_settings(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    monkeypatch.setenv("PRTRACE_WORKERS", "3")
    assert common.settings_from_args(parse("serve")).workers == 3
    assert common.settings_from_args(parse("serve", "--workers", "0")).workers == 0
    flagged = parse("--url", "http://x:1", "trace", "list")
    assert common.settings_from_args(flagged).url == "http://x:1"


def test_an_unknown_log_level_is_a_config_error_naming_the_setting(tmp_path):
    from prtrace.config import load_settings

    environ = {"PRTRACE_HOME": str(tmp_path), "PRTRACE_LOG_LEVEL": "verbose"}
    with pytest.raises(ConfigError, match=r"log_level \(PRTRACE_LOG_LEVEL\) is 'verbose'"):
        load_settings(environ=environ)
    assert load_settings(environ={**environ, "PRTRACE_LOG_LEVEL": "DEBUG"}).log_level == "DEBUG"
