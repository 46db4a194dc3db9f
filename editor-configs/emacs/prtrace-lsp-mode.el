;;; prtrace-lsp-mode.el --- run lsp-mode's language servers behind prtrace -*- lexical-binding: t; -*-

;; `prtrace lsp -- SERVER ...' forwards every byte unchanged and records opens,
;; navigation, edits and diagnostics into the workspace's spool.
;;
;;   (load "/path/to/prtrace/editor-configs/emacs/prtrace-lsp-mode.el")
;;   (prtrace-lsp-mode-setup)
;;
;; Every stdio server lsp-mode starts is then wrapped: lsp-mode builds each
;; server's command line with `lsp-resolve-final-command' (lsp-mode 9) or
;; `lsp-resolve-final-function' (lsp-mode 8, Debian 12's elpa-lsp-mode), and we
;; prefix it. Tested end to end by tests/e2e/test_lsp_emacs.py.
;; To wrap only pylsp instead:
;;   (setq lsp-pylsp-server-command '("prtrace" "lsp" "--" "pylsp"))

(require 'lsp-mode)

(defvar prtrace-command "prtrace" "The prtrace executable.")

(defun prtrace-lsp-mode--wrap (command)
  "COMMAND (a list of strings, or a shell string) run behind the recording proxy."
  (cond ((and (consp command) (equal (car command) prtrace-command)) command)
        ((consp command) (append (list prtrace-command "lsp" "--") command))
        ((stringp command) (list prtrace-command "lsp" "--" shell-file-name
                                 shell-command-switch command))
        (t command)))

(defconst prtrace-lsp-mode--resolvers
  '(lsp-resolve-final-command lsp-resolve-final-function)
  "The functions lsp-mode builds a server's command line with, by version.")

(defun prtrace-lsp-mode-setup ()
  "Wrap every server command lsp-mode resolves."
  (dolist (fn prtrace-lsp-mode--resolvers)
    (when (fboundp fn)
      (advice-add fn :filter-return #'prtrace-lsp-mode--wrap))))

(defun prtrace-lsp-mode-teardown ()
  (dolist (fn prtrace-lsp-mode--resolvers)
    (when (fboundp fn)
      (advice-remove fn #'prtrace-lsp-mode--wrap))))

(provide 'prtrace-lsp-mode)
;;; prtrace-lsp-mode.el ends here
