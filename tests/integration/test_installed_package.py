"""What an installed prtrace puts on ``sys.path``: only ``prtrace``.

Run from a directory outside the repository (so the checkout itself is not on
``sys.path``), in the environment ``./dev`` installed: the generic names of the
repository's folders must not import, their ``prtrace.*`` names must, and the
shared core must import without pulling in the server's or QA's dependencies
(a developer's machine has only the recorder installed). The wheel holds the
same tree, with the data files the server and QA read at run time.
"""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _python(code: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin"},
        timeout=120,
    )


@pytest.mark.parametrize("name", ["backend", "qa", "recorder"])
def test_generic_names_do_not_import(tmp_path: Path, name: str) -> None:
    result = _python(f"import {name}", tmp_path)
    assert result.returncode != 0 and "ModuleNotFoundError" in result.stderr, result


@pytest.mark.parametrize(
    "name",
    [
        "prtrace.backend.app",
        "prtrace.qa.pipeline",
        "prtrace.recorder.lsp.proxy",
        "prtrace.recorder.session.daemon",
    ],
)
def test_prtrace_names_import(tmp_path: Path, name: str) -> None:
    result = _python(f"import {name}; print({name}.__file__)", tmp_path)
    assert result.returncode == 0, result.stderr
    assert Path(result.stdout.strip()).is_relative_to(ROOT)


def test_the_core_imports_without_server_or_qa_dependencies(tmp_path: Path) -> None:
    heavy = [
        "litestar",
        "sqlalchemy",
        "uvicorn",
        "alembic",
        "asyncpg",
        "docker",
        "openai",
        "watchdog",
        "minio",
    ]
    result = _python(
        "import sys\n"
        "import prtrace.client, prtrace.config, prtrace.trace, prtrace.events, prtrace.schema\n"
        f"print([m for m in {heavy!r} if m in sys.modules])",
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_the_wheel_holds_the_tree_under_prtrace(tmp_path: Path) -> None:
    pip_python = ROOT / ".venv-uv" / "bin" / "python"  # ./dev's uv venv has pip; .venv has none
    python = str(pip_python) if pip_python.exists() else sys.executable
    subprocess.run(
        [python, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(ROOT)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (wheel,) = tmp_path.glob("prtrace-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    tops = {name.split("/")[0] for name in names}
    assert {top for top in tops if not top.endswith(".dist-info")} == {"prtrace"}
    for expected in [
        "prtrace/backend/web/index.html",
        "prtrace/backend/storage/migrations/env.py",
        "prtrace/backend/storage/migrations/versions/0001_initial.py",
        "prtrace/qa/judge/rubrics/default.toml",
        "prtrace/recorder/lsp/proxy.py",
        "prtrace/demo/sample_repo/inventory/parsing.py",
        "prtrace/editor_configs/emacs/prtrace-lsp-mode.el",
        "prtrace/editor_configs/vim/prtrace-ale.vim",
        "prtrace/editor_configs/neovim/lua/prtrace.lua",
        "prtrace/editor_configs/helix/languages.toml",
        "prtrace/editor_configs/vscode/prtrace/extension.js",
        "prtrace/editor_configs/vscode/prtrace/package.json",
    ]:
        assert expected in names, f"{expected} missing from the wheel"
