"""``prtrace setup neovim|vim|emacs|helix``: load the shipped config from the editor's own.

Each target adds one marked block to the editor's init file that loads the file
shipped in ``editor-configs/`` (by absolute path, see :mod:`.configs`) and points
it at this install's ``prtrace``; the user's own lines around it are kept, the file
is backed up before the first change, ``--undo`` removes the block. Helix's
``languages.toml`` is TOML, where a second definition of a table is an error: the
block is added only when the user's file defines none of the same languages or
servers, else setup prints what to merge by hand.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from prtrace.recorder.setup import configs
from prtrace.recorder.setup.base import (
    Action,
    Check,
    SetupContext,
    drop_block,
    edit_text,
    has_block,
    put_block,
)

TAG = "editor config"


def _quote(value: str) -> str:
    """A string literal that Lua, Vim script (double quotes), Emacs Lisp and TOML all read."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


@dataclass
class BlockTarget:
    """An editor whose init file gets one marked block."""

    name: str
    comment: str
    files: tuple[str, ...]
    """Init files in the order the editor reads them: the first that exists is used."""
    body: Callable[[SetupContext], str]
    create: str = ""
    """The file to create when none exists (default: the first of ``files``)."""

    def init_file(self, ctx: SetupContext) -> Path:
        for relative in self.files:
            if (ctx.home / relative).exists():
                return ctx.home / relative
        return ctx.home / (self.create or self.files[0])

    def comment_for(self, path: Path) -> str:
        return self.comment

    def body_for(self, ctx: SetupContext, path: Path) -> str:
        return self.body(ctx)

    def install(self, ctx: SetupContext) -> list[Action]:
        path = self.init_file(ctx)
        body, comment = self.body_for(ctx, path), self.comment_for(path)
        return [edit_text(ctx, path, lambda text: put_block(text, TAG, body, comment))]

    def undo(self, ctx: SetupContext) -> list[Action]:
        path = self.init_file(ctx)
        if not path.exists():
            return [Action("unchanged", path)]
        comment = self.comment_for(path)
        action = edit_text(ctx, path, lambda text: drop_block(text, TAG, comment))
        return [Action("removed", path) if action.kind == "updated" else action]

    def check(self, ctx: SetupContext) -> list[Check]:
        path = self.init_file(ctx)
        found = path.exists() and has_block(
            path.read_text(encoding="utf-8"), TAG, self.comment_for(path)
        )
        return [
            Check(
                f"{self.name} config",
                found,
                f"{path} loads prtrace's config" if found else f"{path} does not load prtrace",
                "" if found else f"prtrace setup {self.name}",
            )
        ]


def _neovim(ctx: SetupContext) -> str:
    rtp = configs.config_file("neovim")
    return (
        f"vim.opt.runtimepath:append({_quote(str(rtp))})\n"
        f'require("prtrace").setup({{ prtrace = {_quote(ctx.prtrace)} }})'
    )


def _neovim_vimscript(ctx: SetupContext) -> str:
    return f"lua << PRTRACE_EOF\n{_neovim(ctx)}\nPRTRACE_EOF"


def _vim(ctx: SetupContext) -> str:
    vim = configs.config_file("vim")
    return "\n".join(
        [
            f"let g:prtrace_command = {_quote(ctx.prtrace)}",
            "\" ALE (Debian's vim-ale) when installed as an optional package",
            "if !empty(globpath(&packpath, 'pack/*/opt/ale'))",
            "  packadd! ale",
            "endif",
            "\" vim-lsp: registers its servers on vim-lsp's lsp_setup event",
            f"execute 'source ' . fnameescape({_quote(str(vim / 'prtrace.vim'))})",
            '" ALE: defines its prtrace-SERVER linters once the plugins are loaded',
            "augroup prtrace_ale",
            "  autocmd!",
            (
                "  autocmd VimEnter * if exists('g:loaded_ale') | execute 'source ' . "
                f"fnameescape({_quote(str(vim / 'prtrace-ale.vim'))}) | endif"
            ),
            "augroup END",
        ]
    )


def _emacs(ctx: SetupContext) -> str:
    emacs = configs.config_file("emacs")
    return "\n".join(
        [
            f"(defvar prtrace-command {_quote(ctx.prtrace)})",
            "(with-eval-after-load 'eglot",
            f"  (load {_quote(str(emacs / 'prtrace-eglot.el'))})",
            "  (prtrace-eglot-setup))",
            "(with-eval-after-load 'lsp-mode",
            f"  (load {_quote(str(emacs / 'prtrace-lsp-mode.el'))})",
            "  (prtrace-lsp-mode-setup))",
        ]
    )


class NeovimTarget(BlockTarget):
    """init.lua gets Lua; an existing init.vim gets the same Lua in a heredoc."""

    def comment_for(self, path: Path) -> str:
        return '"' if path.suffix == ".vim" else "--"

    def body_for(self, ctx: SetupContext, path: Path) -> str:
        return _neovim_vimscript(ctx) if path.suffix == ".vim" else _neovim(ctx)


class HelixTarget(BlockTarget):
    def _shipped(self, ctx: SetupContext) -> str:
        text = configs.config_file("helix", "languages.toml").read_text(encoding="utf-8")
        body = "\n".join(line for line in text.splitlines() if not line.startswith("#"))
        return body.replace('command = "prtrace"', f"command = {_quote(ctx.prtrace)}").strip()

    def _clashes(self, path: Path, ours: dict) -> list[str]:
        if not path.exists():
            return []
        text = drop_block(path.read_text(encoding="utf-8"), TAG, self.comment)
        try:
            theirs = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            return [f"{path} is not valid TOML ({exc})"]
        servers = set(theirs.get("language-server", {})) & set(ours["language-server"])
        languages = {lang.get("name") for lang in theirs.get("language", [])} & {
            lang["name"] for lang in ours["language"]
        }
        return [f"language-server.{s}" for s in sorted(servers)] + [
            f"language {name}" for name in sorted(languages)
        ]

    def body_for(self, ctx: SetupContext, path: Path) -> str:
        return self._shipped(ctx)

    def install(self, ctx: SetupContext) -> list[Action]:
        body = self._shipped(ctx)
        path = self.init_file(ctx)
        clashes = self._clashes(path, tomllib.loads(body))
        if clashes:
            return [
                Action(
                    "note",
                    path,
                    "already defines " + ", ".join(clashes) + ": merge this by hand "
                    "(each server's command becomes prtrace with args lsp -- SERVER)",
                    content=body + "\n",
                )
            ]
        return [edit_text(ctx, path, lambda text: put_block(text, TAG, body, self.comment))]


def _no_body(ctx: SetupContext) -> str:
    return ""  # HelixTarget reads the shipped file itself


TARGETS = {
    "neovim": lambda: NeovimTarget(
        "neovim", "--", (".config/nvim/init.lua", ".config/nvim/init.vim"), _neovim
    ),
    "vim": lambda: BlockTarget("vim", '"', (".vimrc", ".vim/vimrc"), _vim),
    "emacs": lambda: BlockTarget(
        "emacs",
        ";;",
        (".emacs", ".emacs.el", ".emacs.d/init.el", ".config/emacs/init.el"),
        _emacs,
        create=".emacs.d/init.el",
    ),
    "helix": lambda: HelixTarget("helix", "#", (".config/helix/languages.toml",), _no_body),
}


def target(name: str) -> BlockTarget:
    return TARGETS[name]()
