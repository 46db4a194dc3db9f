"""AI coding agents, recorded through their own hooks: one dialect module per agent.

:data:`DIALECTS` names them for ``prtrace hook AGENT`` and the daemon; the
shared recorder is :mod:`prtrace.recorder.agents.base` (docs/agents.md).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the hook command imports this package: keep its start-up light
    from prtrace.recorder.agents.base import Dialect

DIALECTS: dict[str, str] = {
    "claude-code": "claude_code",
    "cursor": "cursor",
}
"""Agent name → module under :mod:`prtrace.recorder.agents` whose ``dialect()`` builds it."""


def load_all() -> dict[str, Dialect]:
    dialects: dict[str, Dialect] = {}
    for name, module in DIALECTS.items():
        dialects[name] = importlib.import_module(f"{__name__}.{module}").dialect()
    return dialects
