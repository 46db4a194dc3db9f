"""``service_required`` (tests/support/services.py): a missing service skips a test on a
developer's machine and fails it in CI (the fixtures' own checks are in
tests/integration/test_fixtures.py)."""

from __future__ import annotations

import pytest

from tests.support.services import service_required


def test_service_required_skips_locally_and_fails_in_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception):
        service_required("no frobnicator")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="no frobnicator"):
        service_required("no frobnicator")
