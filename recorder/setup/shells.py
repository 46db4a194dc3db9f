"""``prtrace setup bash|zsh|fish``: the rc-file line that loads ``prtrace hook SHELL``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from prtrace.recorder.setup.base import (
    Action,
    Check,
    SetupContext,
    drop_block,
    edit_text,
    has_block,
    put_block,
)

RC_FILES = {
    "bash": Path(".bashrc"),
    "zsh": Path(".zshrc"),
    "fish": Path(".config/fish/config.fish"),
}
TAG = "shell hook"


def rc_line(shell: str, prtrace: str) -> str:
    if shell == "fish":
        return f"{prtrace} hook fish | source"
    return f'eval "$({prtrace} hook {shell})"'


@dataclass
class ShellTarget:
    name: str

    def rc_file(self, ctx: SetupContext) -> Path:
        return ctx.home / RC_FILES[self.name]

    def install(self, ctx: SetupContext) -> list[Action]:
        body = rc_line(self.name, ctx.prtrace)
        return [edit_text(ctx, self.rc_file(ctx), lambda text: put_block(text, TAG, body))]

    def undo(self, ctx: SetupContext) -> list[Action]:
        rc = self.rc_file(ctx)
        if not rc.exists():
            return [Action("unchanged", rc)]
        action = edit_text(ctx, rc, lambda text: drop_block(text, TAG))
        return [Action("removed", rc) if action.kind == "updated" else action]

    def check(self, ctx: SetupContext) -> list[Check]:
        rc = self.rc_file(ctx)
        found = rc.exists() and has_block(rc.read_text(encoding="utf-8"), TAG)
        return [
            Check(
                f"{self.name} hook",
                found,
                f"{rc} loads prtrace hook {self.name}" if found else f"{rc} has no prtrace hook",
                "" if found else f"prtrace setup {self.name}",
            )
        ]


def target(name: str) -> ShellTarget:
    return ShellTarget(name)
