-- prtrace for Neovim's built-in LSP client (Neovim 0.7 and later).
--
-- Starts each language server behind `prtrace lsp --`, which forwards every byte
-- unchanged and records opens, navigation, edits and diagnostics into the
-- workspace's spool (.prtrace/spool.db). Nothing else changes: same server, same
-- features, same latency to within tens of microseconds.
--
--   -- init.lua
--   vim.opt.runtimepath:append("/path/to/prtrace/editor-configs/neovim")
--   require("prtrace").setup()                      -- default servers below
--   require("prtrace").setup({ servers = { python = { "pyright-langserver", "--stdio" } } })
--
-- With nvim-lspconfig instead, wrap a server's cmd yourself:
--   require("lspconfig").pylsp.setup({ cmd = require("prtrace").wrap({ "pylsp" }) })
local M = {}

M.servers = {
  python = { "pylsp" },
  go = { "gopls" },
  rust = { "rust-analyzer" },
  c = { "clangd" },
  cpp = { "clangd" },
  typescript = { "typescript-language-server", "--stdio" },
  javascript = { "typescript-language-server", "--stdio" },
}

M.prtrace = "prtrace"
M.root_markers = { ".prtrace", ".git" }

--- The command that runs `cmd` behind the recording proxy.
function M.wrap(cmd, prtrace)
  local wrapped = { prtrace or M.prtrace, "lsp", "--" }
  for _, part in ipairs(cmd) do
    table.insert(wrapped, part)
  end
  return wrapped
end

--- The workspace root of a buffer: the nearest folder with .prtrace/ or .git, else its folder.
function M.root_dir(bufnr)
  local file = vim.api.nvim_buf_get_name(bufnr)
  local dir = vim.fn.fnamemodify(file, ":p:h")
  for _, marker in ipairs(M.root_markers) do
    local found = vim.fn.finddir(marker, dir .. ";")
    if found ~= "" then
      return vim.fn.fnamemodify(found, ":p:h:h")
    end
  end
  return dir
end

local clients = {} -- "filetype|root" -> client id (Neovim 0.7 has no vim.lsp.start)

local function start(bufnr, filetype, cmd)
  local root = M.root_dir(bufnr)
  local config = {
    name = "prtrace-" .. filetype,
    cmd = cmd,
    root_dir = root,
    workspace_folders = { { uri = vim.uri_from_fname(root), name = root } },
  }
  if vim.lsp.start then
    vim.lsp.start(config, { bufnr = bufnr })
    return
  end
  local key = filetype .. "|" .. root
  local id = clients[key]
  if id == nil or vim.lsp.get_client_by_id(id) == nil then
    id = vim.lsp.start_client(config)
    clients[key] = id
  end
  if id then
    vim.lsp.buf_attach_client(bufnr, id)
  end
end

function M.setup(opts)
  opts = opts or {}
  if opts.prtrace then
    M.prtrace = opts.prtrace
  end
  local servers = opts.servers or M.servers
  local group = vim.api.nvim_create_augroup("prtrace", { clear = true })
  vim.api.nvim_create_autocmd("FileType", {
    group = group,
    pattern = vim.tbl_keys(servers),
    callback = function(args)
      local filetype = vim.bo[args.buf].filetype
      local cmd = servers[filetype]
      if cmd and vim.bo[args.buf].buftype == "" then
        start(args.buf, filetype, M.wrap(cmd))
      end
    end,
  })
end

return M
