"""Where a recording lives, and how file URIs become trace paths.

Every recorder process of a workspace — each proxy an editor starts, and later
the file watcher and the terminal — must find the *same* ``.prtrace/`` folder
(the session and the shared spool), even when the editor opened a
sub-directory. :func:`find_root` walks up from where a process starts: the
nearest folder that already has ``.prtrace/`` wins, else the top of the git
repository, else the starting folder itself. ``PRTRACE_WORKSPACE`` overrides.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import unquote, urlparse

STATE_DIR = ".prtrace"
ENV_WORKSPACE = "PRTRACE_WORKSPACE"


def find_root(start: str | os.PathLike[str] | None = None) -> Path:
    """The workspace root for a process starting at ``start`` (default: cwd)."""
    override = os.environ.get(ENV_WORKSPACE)
    if override:
        return Path(override).resolve()
    here = Path(start or os.getcwd()).resolve()
    if not here.exists():
        here = Path.cwd()  # a root the editor made up: never create folders there
    if here.is_file():
        here = here.parent
    git_root: Path | None = None
    for folder in (here, *here.parents):
        if (folder / STATE_DIR).is_dir():
            return folder
        if git_root is None and (folder / ".git").exists():
            git_root = folder
    return git_root or here


def state_dir(root: Path, *, create: bool = False) -> Path:
    """``root/.prtrace``; created (git-ignored, private) on demand."""
    path = root / STATE_DIR
    if create and not path.is_dir():
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
    ignore = path / ".gitignore"
    if create and not ignore.exists():
        ignore.write_text("*\n")
    return path


def uri_to_path(uri: str) -> Path | None:
    """The file a ``file://`` URI names; None for other schemes (untitled:, jdt:, …)."""
    parsed = urlparse(uri)
    if parsed.scheme != "file":
        return None
    path = unquote(parsed.path)
    if parsed.netloc and parsed.netloc != "localhost":
        path = f"//{parsed.netloc}{path}"
    return Path(path)


class PathMapper:
    """Turns URIs into trace paths: workspace-relative POSIX, absolute outside it."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._real_root = root.resolve()
        self._cache: dict[str, str | None] = {}

    def path(self, uri: str) -> str | None:
        try:
            return self._cache[uri]
        except KeyError:
            pass
        file = uri_to_path(uri)
        result: str | None
        if file is None:
            result = None
        else:
            result = self._relative(file)
        if len(self._cache) < 10_000:
            self._cache[uri] = result
        return result

    def _relative(self, file: Path) -> str:
        for root in (self.root, self._real_root):
            try:
                return file.relative_to(root).as_posix()
            except ValueError:
                pass
        try:
            return file.resolve().relative_to(self._real_root).as_posix()
        except (ValueError, OSError):
            return file.as_posix()
