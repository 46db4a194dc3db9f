"""Real Vim with ALE (Debian's vim-ale) and the shipped config
(editor-configs/vim/prtrace-ale.vim) runs pylsp through ``prtrace lsp``: open, go to
definition, edit, save — the same assertions as the Neovim test
(tests/support/lsp_support.py: assert_editor_session).

Vim runs in silent Ex mode (``-es``): its channels and timers work while the
driver sleeps, so ALE talks to the server as in a terminal; the TextChanged that
Vim's main loop would fire after each change is fired by the driver."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from tests.support.lsp_support import (
    ROOT,
    assert_editor_session,
    editor_env,
    editor_workspace,
    wait_for_saved,
)
from tests.support.services import service_required

ALE = Path("/usr/share/vim/vimfiles/pack/dist-bundle/opt/ale")
"""Where Debian's vim-ale puts the plugin (``packadd ale`` finds it)."""

DRIVER = r"""
set nocompatible
filetype on
packadd ale
execute 'source ' . $PRTRACE_TEST_CONFIG
let s:ws = $PRTRACE_TEST_WS
function! s:Wait(cond, ms) abort
  let l:waited = 0
  while !eval(a:cond) && l:waited < a:ms
    sleep 50m
    let l:waited += 50
  endwhile
  return eval(a:cond)
endfunction
function! s:Ready() abort
  for l:conn in values(ale#lsp#GetConnections())
    if get(l:conn, 'initialized', 0) && ale#lsp#HasCapability(l:conn.id, 'definition')
      return 1
    endif
  endfor
  return 0
endfunction
try
  execute 'edit ' . s:ws . '/main.py'
  ALELint
  if !s:Wait('s:Ready()', 120000) | throw 'pylsp did not attach' | endif
  let s:main = bufnr('%')
  call cursor(3, 9)
  ALEGoToDefinition
  if !s:Wait('bufname("%") =~# "pkg/util\\.py$"', 20000)
    throw 'go to definition did not jump: ' . bufname('%')
  endif
  sleep 500m
  execute 'buffer ' . s:main
  normal! Govalue = helper(3)
  doautocmd TextChanged
  sleep 500m
  call cursor(3, 14)
  normal! r4
  doautocmd TextChanged
  sleep 500m
  write
  sleep 1
catch
  call writefile([v:exception . ' at ' . v:throwpoint], s:ws . '/../vim-error.txt')
  cquit 3
endtry
qa!
"""


def test_vim_ale_session_with_shipped_config(tmp_path: Path) -> None:
    vim = shutil.which("vim")
    if not vim or not ALE.is_dir():
        service_required(
            "vim and ALE are not installed (apt-get install vim vim-ale; ./dev test does)"
        )
    if not Path(sys.executable).with_name("pylsp").exists():
        service_required("pylsp is not installed")
    ws = editor_workspace(tmp_path)
    (tmp_path / "driver.vim").write_text(DRIVER)
    env = editor_env(tmp_path, ws)
    env["PRTRACE_TEST_CONFIG"] = str(ROOT / "editor-configs" / "vim" / "prtrace-ale.vim")
    done = subprocess.run(
        [vim, "-Nu", "NONE", "-i", "NONE", "-es", "-S", str(tmp_path / "driver.vim")],
        cwd=ws,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    error = tmp_path / "vim-error.txt"
    assert done.returncode == 0, (error.read_text() if error.exists() else "") + done.stdout
    assert_editor_session(wait_for_saved(ws), ws, tmp_path)


def test_prtrace_setup_vim_defines_the_ale_linter(tmp_path: Path) -> None:
    """What ``prtrace setup vim`` writes into ~/.vimrc loads ALE and, once the plugins are
    loaded (VimEnter), makes prtrace-pylsp python's linter."""
    from tests.support.lsp_support import prtrace_cmd

    vim = shutil.which("vim")
    if not vim or not ALE.is_dir():
        service_required("vim and ALE are not installed (./dev test installs them)")
    home = tmp_path / "home"
    subprocess.run([*prtrace_cmd(), "setup", "vim", "--home", str(home)], check=True)
    out = tmp_path / "linters.txt"
    probe = (
        "call writefile([join(g:ale_linters.python), "
        "join(map(copy(ale#linter#GetAll(['python'])), 'v:val.name'))], "
        f"'{out}')"
    )
    subprocess.run(
        [vim, "-N", "-es", "-i", "NONE", "-u", str(home / ".vimrc"),
         "-c", "doautocmd VimEnter", "-c", probe, "-c", "qa!"],
        env={"HOME": str(home), "PATH": "/usr/bin:/bin"},
        stdin=subprocess.DEVNULL, capture_output=True, timeout=60, check=True,
    )  # fmt: skip
    chosen, defined = out.read_text().splitlines()
    assert chosen == "prtrace-pylsp" and "prtrace-pylsp" in defined.split()
