"""A real editor: headless Neovim with the shipped config (editor-configs/neovim)
runs pylsp through ``prtrace lsp``: open, go to definition, edit, save — and the
recorded events replay to the saved file byte for byte."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from prtrace.hashing import text_hash
from tests.support.lsp_support import ROOT, git_apply, spooled_events
from tests.support.services import service_required

MAIN = "from pkg.util import helper\n\nprint(helper(2))\n"
UTIL = "def helper(x):\n    return x + 1\n"

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
  if not vim.wait(30000, function()
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
    ws = tmp_path / "ws"
    (ws / "pkg").mkdir(parents=True)
    (ws / "pkg" / "__init__.py").write_text("")
    (ws / "pkg" / "util.py").write_text(UTIL)
    (ws / "main.py").write_text(MAIN)
    subprocess.run(["git", "init", "-q", str(ws)], check=True)
    (ws / ".prtrace.toml").write_text("[privacy]\n")  # the repository opts in (docs/privacy.md)
    driver = tmp_path / "driver.lua"
    driver.write_text(DRIVER)

    env = {k: v for k, v in os.environ.items() if not k.startswith("PRTRACE_")}
    env.update(
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
        HOME=str(tmp_path / "home"),
        XDG_CONFIG_HOME=str(tmp_path / "config"),
        XDG_DATA_HOME=str(tmp_path / "data"),
        XDG_STATE_HOME=str(tmp_path / "state"),
        PRTRACE_TEST_WS=str(ws),
    )
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
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    error = tmp_path / "nvim-error.txt"
    assert done.returncode == 0, (error.read_text() if error.exists() else "") + done.stderr

    # The proxy outlives Neovim by a moment: it finishes recording after the server exits.
    deadline = time.monotonic() + 30
    while True:
        spool = ws / ".prtrace" / "spool.db"
        events = spooled_events(ws) if spool.exists() else []
        if any(e["type"] == "file_saved" for e in events) or time.monotonic() > deadline:
            break
        time.sleep(0.2)

    types = [e["type"] for e in events if e["type"] != "diagnostics"]
    assert types[:3] == ["file_opened", "go_to_definition", "file_opened"], types
    assert types[-1] == "file_saved" and set(types[3:-1]) == {"edit"}, types
    opened, nav, opened_util = (
        events[0],
        events[1],
        next(e for e in events if e["type"] == "file_opened" and e["path"] == "pkg/util.py"),
    )
    assert opened["path"] == "main.py" and opened["hash"] == text_hash(MAIN)
    assert nav["symbol"] == "helper" and nav["path"] == "main.py"
    assert nav["targets"][0]["path"] == "pkg/util.py" and nav["targets"][0]["line"] == 1
    assert opened_util["hash"] == text_hash(UTIL)

    saved_bytes = (ws / "main.py").read_bytes()
    assert saved_bytes == b"from pkg.util import helper\n\nprint(helper(4))\nvalue = helper(3)\n"
    edits = [e for e in events if e["type"] == "edit"]
    saved = next(e for e in events if e["type"] == "file_saved")
    chain = [opened["hash"]] + [h for e in edits for h in (e["before_hash"], e["after_hash"])]
    assert chain[0] == chain[1] and all(
        chain[i] == chain[i + 1] for i in range(2, len(chain) - 1, 2)
    )
    assert edits[-1]["after_hash"] == saved["hash"] == text_hash(saved_bytes.decode())
    replayed = git_apply(MAIN, [e["patch_unified"] for e in edits], tmp_path, "main.py")
    assert replayed.encode() == saved_bytes
