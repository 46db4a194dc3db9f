"""Where the shipped editor configs (``editor-configs/``) are, installed or checked out.

A wheel carries them as ``prtrace/editor_configs/`` (pyproject's package-data); a
checkout has them at the top of the repository. Setup writes their absolute path
into the user's editor config, so an upgrade of prtrace updates what the editor loads.
"""

from __future__ import annotations

import os
from pathlib import Path

import prtrace
from prtrace.errors import ConfigError

CANDIDATES = (
    Path(prtrace.__file__).resolve().parent / "editor_configs",  # an installed wheel
    Path(__file__).resolve().parents[2] / "editor-configs",  # a checkout
)


def config_dir() -> Path:
    """The folder holding ``emacs/``, ``vim/``, ``neovim/``, ``helix/``."""
    for candidate in CANDIDATES:
        if (candidate / "neovim" / "lua" / "prtrace.lua").is_file():
            return candidate
    raise ConfigError(
        "prtrace's editor configs are not installed (looked in "
        + ", ".join(str(c) for c in CANDIDATES)
        + "); reinstall prtrace"
    )


def config_file(*parts: str) -> Path:
    return config_dir().joinpath(*parts)


def vsix() -> Path | None:
    """The VS Code extension package: ``$PRTRACE_VSIX``, else one shipped beside the configs."""
    named = os.environ.get("PRTRACE_VSIX")
    if named:
        return Path(named).expanduser()
    try:
        found = sorted(config_dir().glob("vscode/**/*.vsix"))
    except ConfigError:
        return None
    return found[-1] if found else None
