"""The install layout: folders at the top of the repository, names under ``prtrace``.

``pyproject.toml`` lists every package by hand (setuptools' ``package-dir`` maps
``recorder/`` → ``prtrace.recorder`` and so on, and ``find`` cannot map), so a
new subfolder that is not listed would work in an editable checkout and be
missing from every wheel. These tests compare the list with the folders.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MAPPED = {
    "prtrace": "prtrace",
    "prtrace.recorder": "recorder",
    "prtrace.backend": "backend",
    "prtrace.qa": "qa",
}
DATA = {"prtrace.editor_configs": "editor-configs"}
"""Folders installed under prtrace that hold data only (no ``__init__.py``)."""


def _setuptools() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]


def _packages_on_disk() -> set[str]:
    found = set()
    for name, folder in MAPPED.items():
        for init in (ROOT / folder).rglob("__init__.py"):
            relative = init.parent.relative_to(ROOT / folder)
            if "sample_repo" in relative.parts:
                continue  # the demo's sample repository is data, not our code
            found.add(".".join([name, *relative.parts]))
    return found


def test_every_package_folder_is_listed_and_nothing_else() -> None:
    listed = set(_setuptools()["packages"]) - set(DATA)
    on_disk = _packages_on_disk()
    assert not on_disk - listed, f"add to [tool.setuptools] packages: {sorted(on_disk - listed)}"
    assert not listed - on_disk, f"listed but not on disk: {sorted(listed - on_disk)}"


def test_the_top_level_folders_are_mapped_under_prtrace_only() -> None:
    assert _setuptools()["package-dir"] == MAPPED | DATA
    assert all(
        name == "prtrace" or name.startswith("prtrace.") for name in _setuptools()["packages"]
    )


def _folder_of(package: str) -> Path:
    if package in DATA:
        return ROOT / DATA[package]
    top = max(
        (name for name in MAPPED if package == name or package.startswith(name + ".")), key=len
    )
    return ROOT / MAPPED[top] / Path(*package[len(top) :].split(".")[1:])


def test_package_data_globs_match_files() -> None:
    """A glob that matches nothing means data silently left out of the wheel."""
    for package, globs in _setuptools()["package-data"].items():
        if package == "*":
            continue  # the catch-all for every package: no single folder to check
        for pattern in globs:
            assert list(_folder_of(package).glob(pattern)), f"{package}: {pattern} matches no file"


def test_the_version_is_written_once() -> None:
    """``prtrace.__version__`` is the source; pyproject.toml reads it (dynamic), so the
    installed distribution's version and the package's cannot differ."""
    from importlib.metadata import version

    import prtrace

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert "version" not in project and "version" in project["dynamic"]
    assert _setuptools()["dynamic"]["version"] == {"attr": "prtrace.__version__"}
    assert version("prtrace") == prtrace.__version__
