"""The bundled sample repository, without git: where it may be made (the repository
itself, its recorded session and its tests are checked with git in
tests/integration/test_demo_sample.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from prtrace.demo import make_sample_repo


def test_make_sample_repo_refuses_a_non_empty_directory(tmp_path: Path) -> None:
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "file").write_text("x")
    with pytest.raises(FileExistsError):
        make_sample_repo(tmp_path / "taken")
