"""``prtrace demo`` checks what it reads back against what it recorded: a wrong read-back
is caught (on the sample repository, made with git; the demo itself is in
tests/e2e/test_demo_cli.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import msgspec
import pytest

from prtrace.cli.demo import check_round_trip
from prtrace.demo import make_sample_repo, recorded_session
from prtrace.errors import PrtraceError
from prtrace.trace import Artifacts, Developer, Task, Trace


def _expected(tmp_path: Path) -> tuple[list, str]:
    repo, commit = make_sample_repo(tmp_path / "expected")
    return recorded_session(
        repo, commit, session_id="ses_x", start=datetime(2024, 1, 1, tzinfo=UTC)
    )


def test_round_trip_check_catches_a_wrong_read_back(tmp_path: Path) -> None:
    events, patch = _expected(tmp_path)
    trace = Trace(
        trace_id="tr_x",
        created_at=datetime.now(UTC),
        status="sealed",
        developer=Developer(id="d"),
        task=Task(repository="r", commit="abcd"),
        events=events,
        artifacts=Artifacts(final_patch=patch),
    )
    check_round_trip(trace, events, patch)
    with pytest.raises(PrtraceError, match="events differ"):
        check_round_trip(msgspec.structs.replace(trace, events=events[:-1]), events, patch)
    with pytest.raises(PrtraceError, match="final patch"):
        check_round_trip(trace, events, patch + "\n")
