"""Whole outputs kept under .prtrace/outputs/ are redacted before they are written,
even when a secret or a private-key block arrives split across many writes."""

from __future__ import annotations

from pathlib import Path

from prtrace.recorder.terminal.commands import SpillingOutput, output_redactor
from prtrace.redaction import default_redactor
from tests.support.privacy_corpus import needles, planted_lines, secrets


def big_output_with_secrets() -> str:
    filler = "".join(f"collected test_{i} ... ok\n" for i in range(3000))
    return filler + "\n".join(planted_lines()) + "\n" + filler + "\n".join(planted_lines()) + "\n"


def feed(out: SpillingOutput, text: str, step: int) -> None:
    for i in range(0, len(text), step):
        out.write(text[i : i + step])
    out.close()


def test_spilled_output_holds_no_secret_and_every_placeholder(tmp_path: Path) -> None:
    text = big_output_with_secrets()
    for step in (7, 4096, 100_000):  # secrets and key blocks split across writes
        out = SpillingOutput(tmp_path / f"out-{step}.txt", default_redactor().text, cap=10_000)
        feed(out, text, step)
        assert out.kept is not None and out.truncated
        kept = out.kept.read_text()
        for secret in secrets():
            for needle in needles(secret):
                assert needle not in kept, (step, needle)
        assert kept == default_redactor().text(text), step  # the same as redacting it whole
        assert "<redacted:" in kept and "collected test_2999 ... ok" in kept


def test_spill_keeps_the_whole_text_when_nothing_is_secret(tmp_path: Path) -> None:
    text = "".join(f"line {i}\n" for i in range(20_000))
    out = SpillingOutput(tmp_path / "plain.txt", default_redactor().text, cap=1000)
    feed(out, text, 333)
    assert out.kept.read_text() == text


def test_nothing_is_spilled_where_nothing_may_be_recorded(tmp_path: Path) -> None:
    assert output_redactor(tmp_path) is None  # no .prtrace.toml, no session: not opted in
    out = SpillingOutput(tmp_path / "outputs" / "x.txt", output_redactor(tmp_path), cap=100)
    feed(out, big_output_with_secrets(), 4096)
    assert out.truncated and out.kept is None
    assert not (tmp_path / "outputs").exists()


def test_an_opted_in_workspace_spills_redacted(tmp_path: Path) -> None:
    (tmp_path / ".prtrace.toml").write_text("")
    redact = output_redactor(tmp_path)
    assert redact is not None
    out = SpillingOutput(tmp_path / "outputs" / "x.txt", redact, cap=100)
    feed(out, big_output_with_secrets(), 4096)
    kept = out.kept.read_text()
    assert all(needle not in kept for secret in secrets() for needle in needles(secret))
