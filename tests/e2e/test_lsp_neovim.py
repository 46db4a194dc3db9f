"""A real editor: headless Neovim with the shipped config (editor-configs/neovim)
runs pylsp through ``prtrace lsp``: open, go to definition, edit, save — and the
recorded events replay to the saved file byte for byte."""

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

DRIVER = r"""
local ws = vim.env.PRTRACE_TEST_WS
local function fail(msg)
  local f = io.open(ws .. "/../nvim-error.txt", "w"); f:write(msg); f:close()
  vim.cmd("cquit 3")
end
local ok, err = pcall(function()
  vim.cmd("filetype on")
  require("prtrace").setup({ servers = { python = { "pylsp" } } })
  vim.cmd("edit " .. ws .. "/main.py")
  local main = vim.api.nvim_get_current_buf()
  local function client()
    local _, c = next(vim.lsp.buf_get_clients(main))
    return c
  end
  if not vim.wait(120000, function()
    local c = client()
    return c ~= nil and c.server_capabilities ~= nil and c.server_capabilities.definitionProvider
  end, 50) then error("pylsp did not attach") end

  vim.api.nvim_win_set_cursor(0, { 3, 8 })          -- on "helper" in print(helper(2))
  vim.lsp.buf.definition()
  if not vim.wait(20000, function()
    return vim.api.nvim_buf_get_name(0):match("pkg/util%.py$") ~= nil
  end, 50) then error("go to definition did not jump") end

  vim.cmd("buffer " .. main)
  vim.cmd("normal! Govalue = helper(3)")            -- a new line at the end, typed
  vim.wait(300)
  vim.api.nvim_win_set_cursor(0, { 3, 13 })
  vim.cmd("normal! r4")                             -- helper(2) -> helper(4)
  vim.wait(300)
  vim.cmd("write")
  vim.wait(1000)
end)
if not ok then fail(tostring(err)) end
vim.cmd("qa!")
"""


def test_neovim_session_with_shipped_config(tmp_path: Path) -> None:
    nvim = shutil.which("nvim")
    if not nvim:
        service_required("neovim is not installed (apt-get install neovim; ./dev test does)")
    pylsp = Path(sys.executable).with_name("pylsp")
    if not pylsp.exists():
        service_required("pylsp is not installed")
    ws = editor_workspace(tmp_path)
    driver = tmp_path / "driver.lua"
    driver.write_text(DRIVER)
    rtp = ROOT / "editor-configs" / "neovim"
    done = subprocess.run(
        [
            nvim,
            "--headless",
            "-u",
            "NONE",
            "-i",
            "NONE",
            "--cmd",
            f"set rtp^={rtp}",
            "-c",
            f"luafile {driver}",
        ],
        cwd=ws,
        env=editor_env(tmp_path, ws),
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    error = tmp_path / "nvim-error.txt"
    assert done.returncode == 0, (error.read_text() if error.exists() else "") + done.stderr
    assert_editor_session(wait_for_saved(ws), ws, tmp_path)
