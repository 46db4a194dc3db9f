"""Which paths of a workspace the file watcher records: git's ignore rules.

A developer's ``node_modules/``, build output and virtualenvs change by the
thousand and say nothing about how a bug was fixed; git already knows they
do not matter. :class:`IgnoreRules` applies the same rules as git, with
``pathspec``'s gitignore implementation: ``.git/info/exclude``, the root
``.gitignore`` and every nested ``.gitignore`` (its patterns relative to its own
folder). ``.git/`` and ``.prtrace/`` are always skipped. Rules are read when the
watcher starts and again whenever a ``.gitignore`` changes.
"""

from __future__ import annotations

import os
from pathlib import Path

import pathspec

ALWAYS_SKIPPED = (".git", ".prtrace")


def _spec(lines: list[str]) -> pathspec.PathSpec:
    return pathspec.GitIgnoreSpec.from_lines(lines)


class IgnoreRules:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.specs: dict[str, pathspec.PathSpec] = {}
        """Folder (workspace-relative, "" for the root) → the rules of its .gitignore."""
        self.load_folder("")
        exclude = root / ".git" / "info" / "exclude"
        try:
            lines = exclude.read_text(errors="replace").splitlines()
        except OSError:
            lines = []
        self._exclude = _spec(lines)

    def load_folder(self, folder: str) -> None:
        """(Re)read ``folder/.gitignore``; call when it may have changed."""
        path = self.root / folder / ".gitignore" if folder else self.root / ".gitignore"
        try:
            lines = path.read_text(errors="replace").splitlines()
        except OSError:
            self.specs.pop(folder, None)
            return
        self.specs[folder] = _spec(lines)

    def ignored(self, rel: str, is_dir: bool = False) -> bool:
        """Is workspace-relative POSIX path ``rel`` ignored (or inside an ignored folder)?"""
        parts = rel.split("/")
        if parts[0] in ALWAYS_SKIPPED:
            return True
        # git: a file inside an ignored folder is ignored, whatever later rules say.
        for depth in range(1, len(parts) + 1):
            sub_is_dir = is_dir or depth < len(parts)
            if self._matches("/".join(parts[:depth]), sub_is_dir):
                return True
        return False

    def _matches(self, rel: str, is_dir: bool) -> bool:
        probe = rel + "/" if is_dir else rel
        if self._exclude.match_file(probe):
            return True
        folder = rel.rpartition("/")[0]
        while True:
            spec = self.specs.get(folder)
            if spec is not None:
                sub = probe[len(folder) + 1 :] if folder else probe
                if spec.match_file(sub):
                    return True
            if not folder:
                return False
            folder = folder.rpartition("/")[0]

    def walk(self, start: str = "") -> list[str]:
        """Every file under ``start`` that is not ignored (workspace-relative),
        reading nested ``.gitignore`` files on the way and never entering an
        ignored folder (so ``node_modules/`` costs one check, not 40,000)."""
        found: list[str] = []
        top = self.root / start if start else self.root
        for folder, dirs, files in os.walk(top):
            rel_folder = os.path.relpath(folder, self.root).replace(os.sep, "/")
            rel_folder = "" if rel_folder == "." else rel_folder
            if ".gitignore" in files and rel_folder:
                self.load_folder(rel_folder)
            prefix = rel_folder + "/" if rel_folder else ""
            dirs[:] = [
                d
                for d in dirs
                if not os.path.islink(os.path.join(folder, d))
                and not self.ignored(prefix + d, is_dir=True)
            ]
            for name in files:
                rel = prefix + name
                if not self.ignored(rel):
                    found.append(rel)
        return found
