" prtrace for Vim with ALE (https://github.com/dense-analysis/ale; Debian: vim-ale).
"
" Defines one ALE LSP linter per language, 'prtrace-SERVER', that runs the server
" behind `prtrace lsp --`, which forwards every byte unchanged and records opens,
" navigation, edits and diagnostics into the workspace's spool. In your vimrc:
"
"   packadd! ale                      " Debian's vim-ale (or your plugin manager)
"   source /path/to/prtrace/editor-configs/vim/prtrace-ale.vim
"
" Servers come from g:prtrace_servers (set it before sourcing), e.g.
"   let g:prtrace_servers = {'python': ['pylsp'], 'go': ['gopls']}
"
" ALE runs only the linters g:ale_linters names for a filetype. If you chose the
" linters for a filetype yourself, 'prtrace-SERVER' is added to your list (and the
" unwrapped SERVER taken out, so one server runs, not two); if you did not, the list
" becomes ['prtrace-SERVER']: add your other linters to it in your vimrc.
" Tested end to end by tests/e2e/test_lsp_vim.py.

let g:prtrace_command = get(g:, 'prtrace_command', 'prtrace')
let g:prtrace_servers = get(g:, 'prtrace_servers', {
      \ 'python': ['pylsp'],
      \ 'go': ['gopls'],
      \ 'rust': ['rust-analyzer'],
      \ 'c': ['clangd'],
      \ 'cpp': ['clangd'],
      \ })

" The folder the proxy records into: the nearest with .prtrace/, else the git top.
function! PrtraceAleRoot(buffer) abort
  for l:marker in ['.prtrace', '.git']
    let l:dir = ale#path#FindNearestDirectory(a:buffer, l:marker)
    if !empty(l:dir)
      return fnamemodify(l:dir, ':h:h')
    endif
  endfor
  let l:git_file = ale#path#FindNearestFile(a:buffer, '.git')
  return empty(l:git_file) ? fnamemodify(bufname(a:buffer), ':p:h') : fnamemodify(l:git_file, ':h')
endfunction

" ALE up to 3.3 (Debian 12's vim-ale) joins the text it sends with didSave by a
" literal backslash-n ('\n' in single quotes): the server, and the proxy that records
" what the editor says it saved, would get one long line. Put the newlines back.
runtime autoload/ale/util.vim
if exists('*ale#util#GetBufferContents')
      \ && execute('function ale#util#GetBufferContents') =~# "'\\\\n'"
  function! ale#util#GetBufferContents(buffer) abort
    return join(getbufline(a:buffer, 1, '$'), "\n") . "\n"
  endfunction
endif

let g:ale_linters = get(g:, 'ale_linters', {})
for [s:filetype, s:cmd] in items(g:prtrace_servers)
  let s:name = 'prtrace-' . s:cmd[0]
  call ale#linter#Define(s:filetype, {
        \ 'name': s:name,
        \ 'lsp': 'stdio',
        \ 'executable': g:prtrace_command,
        \ 'command': '%e lsp -- ' . join(map(copy(s:cmd), 'ale#Escape(v:val)')),
        \ 'project_root': function('PrtraceAleRoot'),
        \ })
  let s:chosen = get(g:ale_linters, s:filetype, [])
  if type(s:chosen) == v:t_list
    let g:ale_linters[s:filetype] = filter(copy(s:chosen), 'v:val !=# s:cmd[0] && v:val !=# s:name') + [s:name]
  endif
endfor
unlet! s:filetype s:cmd s:name s:chosen
