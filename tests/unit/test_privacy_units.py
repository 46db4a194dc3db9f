"""Redaction units: the corpus, idempotence, code left alone, events as JSON bytes,
the recorder's privacy step (globs, hashing, pause, opt-in), and the judge's use of it."""

from __future__ import annotations

import json
from pathlib import Path

import msgspec
import pytest

from prtrace import events as ev
from prtrace.redaction import PrivacyConfig, Redactor, default_redactor, redact, redact_event_json
from prtrace.redaction.detectors import PRECHECK_LITERALS
from prtrace.redaction.events import suspicious_json
from tests.support.privacy_corpus import CORPUS, needles, planted_lines

LINES = planted_lines()


def test_the_corpus_is_large_and_varied() -> None:
    assert len(CORPUS) >= 50 and len({label for label, _, _ in CORPUS}) >= 25


@pytest.mark.parametrize(("label", "secret", "line"), CORPUS, ids=[c[0] for c in CORPUS])
def test_each_planted_secret_becomes_its_typed_placeholder(
    label: str, secret: str, line: str
) -> None:
    text = line.format(s=secret)
    out = redact(text)
    for needle in needles(secret):
        assert needle not in out, out
    assert f"<redacted:{label}>" in out, out
    assert redact(out) == out  # idempotent: the server's pass leaves the recorder's result alone
    assert Redactor().suspicious(text)  # the pre-check is a superset
    assert default_redactor().suspicious(text)


def test_placeholders_keep_the_context_visible() -> None:
    assert (
        redact("mysql -u root --password=pw12345678")
        == "mysql -u root --password=<redacted:secret-assignment>"
    )
    assert redact("git clone https://bob:hunter2xyz@example.com/r.git") == (
        "git clone https://bob:<redacted:url-password>@example.com/r.git"
    )


@pytest.mark.parametrize(
    "code",
    [
        "def f(token=token):\n    return self.password\n",
        "x = f(api_key=config.api_key)\n",
        'TOKEN_HELP = "API token (default: $PRTRACE_API_TOKEN)"\n',
        "_TOKEN_CACHE_SIZE = 10_000\n",
        'settings = {"token": "token", "openai_api_key": "OPENAI_API_KEY"}\n',
        "env.update(PRTRACE_API_TOKEN=self.api_token, PRTRACE_URL=self.url)\n",
        "for key, value in sorted(items): print(f'{key}={value}')\n",
        "def parse_price(text: str) -> int:\n    return int(Decimal(text) * 100)\n",
        "F.....\nFAILED tests/test_mod.py::test_parse - AssertionError\n1 failed, 5 passed in 0.31s\n",
    ],
)
def test_ordinary_code_and_output_are_left_alone(code: str) -> None:
    assert redact(code) == code


def test_personal_data_by_configuration() -> None:
    text = "mail alice@example.com, log at /home/alice/src/app.py and /Users/bob/x"
    default = Redactor(PrivacyConfig())
    assert "alice@example.com" in default.text(text)
    assert "/home/<redacted:user>/src/app.py" in default.text(text)
    both = Redactor(PrivacyConfig(redact_emails=True))
    out = both.text(text)
    assert "<redacted:email>" in out and "alice" not in out and "bob" not in out
    off = Redactor(PrivacyConfig(redact_usernames=False))
    assert off.text(text) == text


def test_project_patterns_and_allowlist() -> None:
    r = Redactor(
        PrivacyConfig(
            patterns={"acme-token": r"acme_[0-9a-f]{16}"}, allowlist=[r"AKIAIOSFODNN7EXAMPLE"]
        )
    )
    out = r.text("acme_0123456789abcdef and AKIAIOSFODNN7EXAMPLE and AKIAABCDEFGHIJKLMNOP")
    assert out == "<redacted:acme-token> and AKIAIOSFODNN7EXAMPLE and <redacted:aws-access-key>"
    assert r.counts == {"acme-token": 1, "aws-access-key": 1}


def _event_json(**fields: object) -> bytes:
    base = {
        "type": "terminal_command",
        "id": "ses_01m883r1zd5pbefy8n6tt79f1r-7",
        "t": "2026-01-01T00:00:00Z",
        "session_id": "ses_01m883r1zd5pbefy8n6tt79f1r",
    }
    return msgspec.json.encode(base | fields)


@pytest.mark.parametrize("line", LINES)
def test_event_json_is_redacted_in_every_string_field(line: str) -> None:
    raw = _event_json(cmd=line, args=line.split(), stdout=line, cwd="/home/alice/w")
    out = redact_event_json(raw)
    assert out is not None
    secret = next(s for (_, s, _), l in zip(CORPUS, LINES) if l == line)
    for needle in needles(secret):
        assert needle.encode() not in out
    assert redact_event_json(out) is None  # nothing left: stored as is the second time
    msgspec.json.decode(out, type=ev.Event)  # still a valid event


def test_clean_events_are_not_reencoded_and_ids_and_hashes_do_not_trigger() -> None:
    edit = msgspec.json.encode(
        {
            "type": "edit",
            "id": "ses_01m883r1zd5pbefy8n6tt79f1r-1",
            "t": "2026-01-01T00:00:00Z",
            "session_id": "ses_01m883r1zd5pbefy8n6tt79f1r",
            "path": "src/mod.py",
            "op": "replace",
            "patch_unified": "--- a/src/mod.py\n+++ b/src/mod.py\n@@ -1 +1 @@\n-x = 1\n+x = 2\n",
            "before_hash": "a" * 64,
            "after_hash": "b" * 64,
        }
    )
    assert not suspicious_json(edit, Redactor())
    assert redact_event_json(edit) is None
    assert suspicious_json(edit.replace(b"x = 2", b"x = 'AKIAABCDEFGHIJKLMNOP'"), Redactor())
    assert set(PRECHECK_LITERALS) >= {"passw", "token", "secret"}


# --- the recorder's privacy step -------------------------------------------------------


def _privacy(root: Path, **config: object):
    from prtrace.recorder.pipeline.privacy import Privacy

    return Privacy(root, PrivacyConfig(**config))


def _cmd(cmd: str) -> ev.TerminalCommand:
    from datetime import UTC, datetime

    return ev.TerminalCommand(
        id="s-1", t=datetime.now(UTC), session_id="s", cmd=cmd, args=cmd.split(), stdout="ok"
    )


def test_opt_in_and_pause(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from prtrace.recorder.pipeline.privacy import set_paused

    monkeypatch.delenv("PRTRACE_WORKSPACE", raising=False)
    privacy = _privacy(tmp_path)
    assert not privacy.recording()
    (tmp_path / ".prtrace.toml").write_text("[privacy]\n")
    assert privacy.recording()
    set_paused(tmp_path, True)
    assert not privacy.recording()
    set_paused(tmp_path, False)
    assert privacy.recording()
    (tmp_path / ".prtrace.toml").unlink()
    monkeypatch.setenv("PRTRACE_WORKSPACE", str(tmp_path))
    assert privacy.recording()
    other = tmp_path / "other"
    other.mkdir()
    assert not _privacy(other).recording()
    assert _privacy(other, repositories=[str(tmp_path / "oth*")]).recording()
    assert _privacy(other, require_opt_in=False).recording()


def test_globs_for_files_and_commands(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    privacy = _privacy(tmp_path, exclude=["secrets/**"], exclude_commands=["vault *"])
    now = datetime.now(UTC)
    for path in (".env", "config/.env.local", "deploy/key.pem", "secrets/a.txt"):
        assert privacy.encode(ev.FileOpened(id="s-1", t=now, session_id="s", path=path)) is None
    assert privacy.encode(ev.FileOpened(id="s-1", t=now, session_id="s", path="src/a.py"))
    assert privacy.encode(_cmd("vault kv get secret/db")) is None
    assert privacy.encode(_cmd("pytest -q")) is not None
    refs = ev.FindReferences(
        id="s-2",
        t=now,
        session_id="s",
        path="src/a.py",
        files=["src/a.py", ".env"],
        targets=[ev.Location(path=".env", line=1), ev.Location(path="src/a.py", line=2)],
    )
    data = json.loads(privacy.encode(refs))
    assert data["files"] == ["src/a.py"] and [t["path"] for t in data["targets"]] == ["src/a.py"]
    only = _privacy(tmp_path, include=["src/**"])
    assert only.encode(ev.FileOpened(id="s-1", t=now, session_id="s", path="docs/x.md")) is None


def test_hashed_paths_are_keyed_and_consistent(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    privacy = _privacy(tmp_path, hash_paths=True)
    edit = ev.Edit(
        id="s-1",
        t=datetime.now(UTC),
        session_id="s",
        path="src/billing.py",
        op="insert",
        patch_unified="--- a/src/billing.py\n+++ b/src/billing.py\n@@ -0,0 +1 @@\n+x\n",
        before_hash="a" * 64,
        after_hash="b" * 64,
    )
    data = json.loads(privacy.encode(edit))
    hashed = data["path"]
    assert hashed.startswith("h-") and hashed.endswith(".py") and "billing" not in json.dumps(data)
    assert f"--- a/{hashed}\n" in data["patch_unified"]
    assert (
        json.loads(_privacy(tmp_path, hash_paths=True).encode(edit))["path"] == hashed
    )  # same key
    assert (tmp_path / ".prtrace" / "path-key").stat().st_mode & 0o077 == 0


def test_the_judge_uses_this_redaction() -> None:
    from prtrace.qa.judge import compact, prompt

    assert compact.redact is redact and prompt.redact is redact
