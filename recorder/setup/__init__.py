"""``prtrace setup TARGET``: install an editor's, shell's or agent's recording config.

One module per target (``neovim.py``, ``bash.py``, ``claude_code.py``, ...), each a
:class:`~prtrace.recorder.setup.base.Target`; :data:`TARGETS` names them so the CLI,
``prtrace doctor`` and the docs list the same set. The writing rules every target
shares (idempotent, never overwrite the user's own settings, back up before the
first change, ``--undo`` removes only what prtrace added) live once in
:mod:`prtrace.recorder.setup.base`.
"""

from __future__ import annotations

import importlib

from prtrace.errors import UsageError
from prtrace.recorder.setup.base import Target

TARGETS: dict[str, str] = {
    "bash": "shells",
    "zsh": "shells",
    "fish": "shells",
    "neovim": "editors",
    "vim": "editors",
    "emacs": "editors",
    "helix": "editors",
    "vscode": "vscode",
    "cursor": "vscode",
    "vscodium": "vscode",
    "claude-code": "claude_code",
}
"""Target name → module under :mod:`prtrace.recorder.setup` whose ``target(name)`` builds it."""


def load(name: str) -> Target:
    """The :class:`Target` called ``name``; a UsageError listing the known ones otherwise."""
    module = TARGETS.get(name)
    if module is None:
        known = ", ".join(sorted(TARGETS))
        raise UsageError(f"unknown setup target {name!r} (known: {known})")
    target: Target = importlib.import_module(f"{__name__}.{module}").target(name)
    return target
