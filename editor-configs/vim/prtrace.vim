" prtrace for Vim with vim-lsp (https://github.com/prabirshrestha/vim-lsp).
"
" Registers language servers behind `prtrace lsp --`, which forwards every byte
" unchanged and records opens, navigation, edits and diagnostics into the
" workspace's spool. Source it from your vimrc after vim-lsp is loaded:
"
"   source /path/to/prtrace/editor-configs/vim/prtrace.vim
"
" Add servers to g:prtrace_servers before sourcing, e.g.
"   let g:prtrace_servers = {'python': ['pylsp'], 'go': ['gopls']}

let g:prtrace_command = get(g:, 'prtrace_command', 'prtrace')
let g:prtrace_servers = get(g:, 'prtrace_servers', {
      \ 'python': ['pylsp'],
      \ 'go': ['gopls'],
      \ 'rust': ['rust-analyzer'],
      \ 'c': ['clangd'],
      \ 'cpp': ['clangd'],
      \ })

function! s:root(server_info) abort
  let l:dir = lsp#utils#find_nearest_parent_file_directory(
        \ lsp#utils#get_buffer_path(), ['.prtrace/', '.git/'])
  return lsp#utils#path_to_uri(empty(l:dir) ? getcwd() : l:dir)
endfunction

function! s:register() abort
  for [l:filetype, l:cmd] in items(g:prtrace_servers)
    if !executable(g:prtrace_command) || !executable(l:cmd[0])
      continue
    endif
    call lsp#register_server({
          \ 'name': 'prtrace-' . l:filetype,
          \ 'cmd': [g:prtrace_command, 'lsp', '--'] + l:cmd,
          \ 'allowlist': [l:filetype],
          \ 'root_uri': function('s:root'),
          \ })
  endfor
endfunction

augroup prtrace_lsp
  autocmd!
  autocmd User lsp_setup call s:register()
augroup END
