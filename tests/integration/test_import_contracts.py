"""The package boundaries hold, and each contract would catch a break.

The contracts live in pyproject.toml ([tool.importlinter]); ``./dev check`` runs
them through ``scripts/lint_imports.py``, which lays recorder/, backend/ and qa/
out under prtrace/ as they install. Here the real tree must pass, and a copy of
it laid out the same way, with one forbidden import planted, must fail with the
contract that forbids it named as broken.

mypy finds the same packages through the symlinks in .typecheck/prtrace/
([tool.mypy] files): they must match package-dir too.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = ROOT / "pyproject.toml"
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def _pyproject() -> dict:
    with PYPROJECT.open("rb") as f:
        return tomllib.load(f)


CONTRACTS = {c["id"]: c["name"] for c in _pyproject()["tool"]["importlinter"]["contracts"]}

# (contract id, file of the installed layout, line planted there, what the report names)
PLANTS = [
    pytest.param(
        "recorder",
        "prtrace/recorder/session/state.py",
        "import prtrace.backend.app",
        "prtrace.recorder.session.state -> prtrace.backend.app",
        id="recorder-imports-backend",
    ),
    pytest.param(
        "recorder",
        "prtrace/recorder/lsp/positions.py",
        "from prtrace.qa import pipeline",
        "prtrace.recorder.lsp.positions -> prtrace.qa.pipeline",
        id="recorder-imports-qa",
    ),
    pytest.param(
        "qa",
        "prtrace/qa/parsers.py",
        "import prtrace.backend.jobs.queue",
        "prtrace.qa.parsers -> prtrace.backend.jobs.queue",
        id="qa-imports-backend",
    ),
    pytest.param(
        "core",
        "prtrace/hashing.py",
        "import prtrace.cli.main",
        "prtrace.hashing -> prtrace.cli.main",
        id="core-imports-cli",
    ),
    pytest.param(
        "core",
        "prtrace/trace.py",
        "import prtrace.recorder.session.state",
        "prtrace.trace -> prtrace.recorder.session.state",
        id="core-imports-recorder",
    ),
    pytest.param(
        "core",
        "prtrace/config.py",
        "import prtrace.backend.app",
        "prtrace.config -> prtrace.backend.app",
        id="core-imports-backend",
    ),
    pytest.param(
        "core",
        "prtrace/events.py",
        "import prtrace.qa.runner",
        "prtrace.events -> prtrace.qa.runner",
        id="core-imports-qa",
    ),
    pytest.param(
        "core",
        "prtrace/newcomer.py",
        "X = 1",
        "- prtrace.newcomer",
        id="core-new-module-outside-every-layer",
    ),
]


def _lint_imports(cwd: Path) -> subprocess.CompletedProcess[str]:
    """lint-imports with pyproject.toml's contracts, importing prtrace from ``cwd``."""
    env = {**os.environ, "PYTHONPATH": str(cwd)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--no-logo", str(PYPROJECT)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _installed_layout(dest: Path) -> None:
    """Copy the sources to ``dest`` as one prtrace package (package-dir of pyproject.toml)."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    package_dir = _pyproject()["tool"]["setuptools"]["package-dir"]
    for name in sorted(package_dir, key=lambda n: n.count(".")):
        shutil.copytree(ROOT / package_dir[name], dest / name.replace(".", "/"), ignore=ignore)


def test_the_source_tree_keeps_every_contract() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "lint_imports.py")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    for name in CONTRACTS.values():
        assert f"{name} KEPT" in result.stdout
    assert f"Contracts: {len(CONTRACTS)} kept, 0 broken." in result.stdout


def test_every_contract_has_a_planted_break() -> None:
    assert {p.values[0] for p in PLANTS} == set(CONTRACTS)


@pytest.mark.parametrize(("contract", "path", "line", "reported"), PLANTS)
def test_a_planted_import_breaks_its_contract(
    tmp_path: Path, contract: str, path: str, line: str, reported: str
) -> None:
    _installed_layout(tmp_path)
    clean = _lint_imports(tmp_path)
    assert clean.returncode == 0, clean.stdout + clean.stderr  # the copy is laid out right

    target = tmp_path / path
    with target.open("a", encoding="utf-8") as f:
        f.write(f"\n{line}  # planted by the test\n")
    result = _lint_imports(tmp_path)

    assert result.returncode == 1, result.stdout + result.stderr
    # Others may break too: an import from the core reaches whatever imports the core.
    assert f"{CONTRACTS[contract]} BROKEN" in result.stdout
    assert reported in result.stdout


def test_mypy_sees_every_package_dir_folder() -> None:
    config = _pyproject()
    package_dir = config["tool"]["setuptools"]["package-dir"]
    files = config["tool"]["mypy"]["files"]
    overlay = ROOT / ".typecheck"
    # Data-only packages (the shipped editor configs) hold no Python for mypy to check.
    expected = {
        name: ROOT / folder
        for name, folder in package_dir.items()
        if name != folder and any((ROOT / folder).rglob("*.py"))
    }
    for name, folder in expected.items():
        link = overlay / name.replace(".", "/")
        assert link.is_symlink() and link.resolve() == folder.resolve(), name
        assert str(link.relative_to(ROOT)) in files, name
    links = {f"prtrace.{p.name}" for p in (overlay / "prtrace").iterdir()}
    assert links == set(expected)
