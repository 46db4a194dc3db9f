"""``prtrace setup`` for each editor: run twice (idempotent), the user's lines kept, undone."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from prtrace.recorder.setup import TARGETS, load
from prtrace.recorder.setup.base import SetupContext, backup_path
from prtrace.recorder.setup.configs import config_dir

EDITORS = {
    # target: (the init file it creates, a line of the user's own in that syntax)
    "neovim": (".config/nvim/init.lua", "vim.opt.number = true"),
    "vim": (".vimrc", "set number"),
    "emacs": (".emacs.d/init.el", "(setq inhibit-startup-screen t)"),
    "helix": (".config/helix/languages.toml", '[editor]\nline-number = "relative"'),
}


def _ctx(tmp_path: Path, **kw: object) -> SetupContext:
    return SetupContext(home=tmp_path / "home", repo=tmp_path, prtrace="/opt/pt/bin/prtrace", **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize("name", sorted(EDITORS))
def test_editor_setup_is_idempotent_keeps_the_users_lines_and_is_undone(
    tmp_path: Path, name: str
) -> None:
    ctx = _ctx(tmp_path)
    relative, mine = EDITORS[name]
    path = ctx.home / relative
    target = load(name)
    assert not target.check(ctx)[0].ok
    assert [a.kind for a in target.install(ctx)] == ["created"]
    assert [a.kind for a in target.install(ctx)] == ["unchanged"]
    assert target.check(ctx)[0].ok
    text = path.read_text()
    assert "/opt/pt/bin/prtrace" in text
    assert name == "helix" or str(config_dir()) in text  # Helix's block is the config itself

    path.write_text(mine + "\n" + text)  # the user edits the file around our block
    assert [a.kind for a in target.install(ctx)] == ["unchanged"]
    assert [a.kind for a in target.undo(ctx)] == ["removed"]
    assert path.read_text() == mine + "\n"
    assert not target.check(ctx)[0].ok
    assert [a.kind for a in target.undo(ctx)] == ["unchanged"]


@pytest.mark.parametrize("name", sorted(EDITORS))
def test_an_existing_init_file_is_backed_up_once(tmp_path: Path, name: str) -> None:
    ctx = _ctx(tmp_path)
    relative, mine = EDITORS[name]
    path = ctx.home / relative
    path.parent.mkdir(parents=True)
    path.write_text(mine + "\n")
    assert [a.kind for a in load(name).install(ctx)] == ["updated"]
    assert backup_path(path).read_text() == mine + "\n"
    assert path.read_text().startswith(mine + "\n")


def test_configs_point_at_files_that_exist(tmp_path: Path) -> None:
    ctx = _ctx(tmp_path)
    for name in ("neovim", "vim", "emacs"):
        load(name).install(ctx)
    nvim = (ctx.home / ".config/nvim/init.lua").read_text()
    assert 'require("prtrace").setup({ prtrace = "/opt/pt/bin/prtrace" })' in nvim
    assert (config_dir() / "neovim" / "lua" / "prtrace.lua").is_file()
    vimrc = (ctx.home / ".vimrc").read_text()
    for shipped in ("vim/prtrace.vim", "vim/prtrace-ale.vim"):
        assert str(config_dir() / shipped) in vimrc and (config_dir() / shipped).is_file()
    init_el = (ctx.home / ".emacs.d/init.el").read_text()
    assert '(defvar prtrace-command "/opt/pt/bin/prtrace")' in init_el
    assert init_el.count("(") == init_el.count(")")


def test_neovim_uses_an_existing_init_vim_and_emacs_an_existing_dot_emacs(
    tmp_path: Path,
) -> None:
    ctx = _ctx(tmp_path)
    init_vim = ctx.home / ".config/nvim/init.vim"
    init_vim.parent.mkdir(parents=True)
    init_vim.write_text("set number\n")
    load("neovim").install(ctx)
    assert "lua << PRTRACE_EOF\nvim.opt.runtimepath:append(" in init_vim.read_text()
    assert not (ctx.home / ".config/nvim/init.lua").exists()
    (ctx.home / ".emacs").write_text(";; mine\n")
    load("emacs").install(ctx)
    assert "prtrace-eglot.el" in (ctx.home / ".emacs").read_text()
    assert not (ctx.home / ".emacs.d").exists()


def test_helix_block_is_valid_toml_with_the_users_settings(tmp_path: Path) -> None:
    ctx = _ctx(tmp_path)
    path = ctx.home / ".config/helix/languages.toml"
    path.parent.mkdir(parents=True)
    path.write_text('[[language]]\nname = "javascript"\nauto-format = true\n')
    load("helix").install(ctx)
    parsed = tomllib.loads(path.read_text())
    assert parsed["language-server"]["pylsp-prtrace"] == {
        "command": "/opt/pt/bin/prtrace",
        "args": ["lsp", "--", "pylsp"],
    }
    assert {lang["name"] for lang in parsed["language"]} == {"javascript", "python", "go", "rust"}


def test_helix_never_redefines_the_users_language(tmp_path: Path) -> None:
    ctx = _ctx(tmp_path)
    path = ctx.home / ".config/helix/languages.toml"
    path.parent.mkdir(parents=True)
    mine = '[[language]]\nname = "python"\nlanguage-servers = ["pyright"]\n'
    path.write_text(mine)
    (action,) = load("helix").install(ctx)
    assert action.kind == "note" and "language python" in action.detail
    assert "pylsp-prtrace" in (action.content or "")
    assert path.read_text() == mine


def test_print_only_shows_the_block_and_writes_nothing(tmp_path: Path) -> None:
    ctx = _ctx(tmp_path, print_only=True)
    (action,) = load("emacs").install(ctx)
    assert action.kind == "would-write" and "prtrace-lsp-mode-setup" in (action.content or "")
    assert not ctx.home.exists()


@pytest.mark.parametrize("name", ["vscode", "cursor", "vscodium"])
def test_vscode_without_its_cli_says_what_to_do(
    tmp_path: Path, name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.delenv("PRTRACE_VSIX", raising=False)
    ctx = _ctx(tmp_path)
    target = load(name)
    (action,) = target.install(ctx)
    assert action.kind == "note" and "is not on PATH" in action.detail
    (check,) = target.check(ctx)
    assert not check.ok and check.fix == f"prtrace setup {name}"
    assert [a.kind for a in target.undo(ctx)] == ["note"]
    assert not ctx.home.exists()


def test_every_issue_target_is_registered() -> None:
    wanted = {"vscode", "cursor", "neovim", "vim", "emacs", "helix", "bash", "zsh", "fish"}
    assert wanted <= set(TARGETS)
