"""Check the import boundaries (import-linter) on the package as it installs.

usage: python scripts/lint_imports.py [lint-imports options]

The contracts in pyproject.toml ([tool.importlinter]) name the installed
modules: prtrace.recorder, prtrace.backend, prtrace.qa. Their sources are the
top-level folders recorder/, backend/ and qa/, mapped by [tool.setuptools]
package-dir and reached at run time through the editable install's import
hook. grimp, which builds import-linter's graph, finds a package by import and
walks its folder, so plain `lint-imports` sees prtrace/ alone (and stops:
"prtrace.recorder does not exist").

So this lays out, in a temporary folder, one prtrace/ of symlinks (prtrace's
own entries, and every other package-dir folder under its installed name),
and runs lint-imports from there with pyproject.toml's contracts. Nothing is
copied: the findings name the real files' modules, and new modules are seen
without any list to keep up. Exits with lint-imports' status.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SKIP = {"__pycache__"}


def package_dirs(root: Path) -> dict[str, Path]:
    """[tool.setuptools] package-dir: installed package name -> folder."""
    with (root / "pyproject.toml").open("rb") as f:
        table = tomllib.load(f)["tool"]["setuptools"]["package-dir"]
    return {name: root / folder for name, folder in table.items()}


def lay_out(root: Path, dest: Path) -> Path:
    """Symlink the packages of ``root`` into ``dest`` as they install; return ``dest``."""
    mapping = package_dirs(root)
    tops = {name for name in mapping if "." not in name}
    for top in sorted(tops):
        view = dest / top
        view.mkdir(parents=True)
        mapped_children = {name.split(".")[1] for name in mapping if name.startswith(top + ".")}
        for entry in sorted(mapping[top].iterdir()):
            if entry.name in SKIP or entry.name in mapped_children:
                continue
            (view / entry.name).symlink_to(entry)
    for name in sorted(mapping, key=lambda n: n.count(".")):
        if name in tops:
            continue
        if name.count(".") != 1:
            raise SystemExit(f"lint_imports: nested package-dir {name!r} is not supported")
        (dest / name.replace(".", os.sep)).symlink_to(mapping[name], target_is_directory=True)
    return dest


def main(argv: list[str]) -> int:
    lint_imports = Path(sys.executable).parent / "lint-imports"
    with tempfile.TemporaryDirectory(prefix="prtrace-imports-") as tmp:
        view = lay_out(ROOT, Path(tmp))
        # lint-imports puts its working directory first on sys.path: there
        # `import prtrace` finds the laid-out package, not the source tree's.
        command = [
            str(lint_imports),
            "--no-cache",
            "--no-logo",
            *argv,
            str(ROOT / "pyproject.toml"),
        ]
        return subprocess.run(command, cwd=view, check=False).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
