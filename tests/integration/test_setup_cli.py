"""The real ``prtrace setup`` command for every editor and shell: twice, then --undo."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.support.lsp_support import prtrace_cmd

FILES = {
    "neovim": ".config/nvim/init.lua",
    "vim": ".vimrc",
    "emacs": ".emacs.d/init.el",
    "helix": ".config/helix/languages.toml",
    "bash": ".bashrc",
    "zsh": ".zshrc",
    "fish": ".config/fish/config.fish",
}


def _setup(home: Path, *args: str) -> dict:
    done = subprocess.run(
        [*prtrace_cmd(), "setup", *args, "--home", str(home), "--json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.mark.parametrize("name", sorted(FILES))
def test_setup_twice_then_undo(tmp_path: Path, name: str) -> None:
    home = tmp_path / "home"
    path = home / FILES[name]
    first = _setup(home, name)
    assert [(a["kind"], a["path"]) for a in first["actions"]] == [("created", str(path))]
    assert [a["kind"] for a in _setup(home, name)["actions"]] == ["unchanged"]
    assert ">>> prtrace" in path.read_text()
    undone = _setup(home, name, "--undo")
    assert undone["undo"] and [a["kind"] for a in undone["actions"]] == ["removed"]
    assert path.read_text() == ""


def test_setup_text_output_names_the_file(tmp_path: Path) -> None:
    done = subprocess.run(
        [*prtrace_cmd(), "setup", "emacs", "--home", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert done.stdout.strip() == f"created: {tmp_path / '.emacs.d/init.el'}"
