;;; prtrace-eglot.el --- run eglot's language servers behind prtrace -*- lexical-binding: t; -*-

;; `prtrace lsp -- SERVER ...' forwards every byte unchanged and records opens,
;; navigation, edits and diagnostics into the workspace's spool.
;;
;;   (load "/path/to/prtrace/editor-configs/emacs/prtrace-eglot.el")
;;   (prtrace-eglot-setup)                 ; Python (pylsp) by default
;;   (prtrace-eglot-setup '(((go-mode go-ts-mode) . ("gopls"))))
;;
;; Or wrap every stdio server eglot knows: (prtrace-eglot-wrap-all).

(require 'eglot)

(defvar prtrace-command "prtrace" "The prtrace executable.")

(defvar prtrace-eglot-servers
  '(((python-mode python-ts-mode) . ("pylsp")))
  "Major modes and the server command to run behind prtrace.")

(defun prtrace-wrap (command)
  "COMMAND (a list of strings) run behind the recording proxy."
  (append (list prtrace-command "lsp" "--") command))

(defun prtrace-eglot-setup (&optional servers)
  "Put SERVERS (default `prtrace-eglot-servers') first in `eglot-server-programs'."
  (dolist (entry (reverse (or servers prtrace-eglot-servers)))
    (add-to-list 'eglot-server-programs (cons (car entry) (prtrace-wrap (cdr entry))))))

(defun prtrace-eglot-wrap-all ()
  "Wrap every entry of `eglot-server-programs' that is a plain command line."
  (setq eglot-server-programs
        (mapcar (lambda (entry)
                  (let ((contact (cdr entry)))
                    (if (and (consp contact) (stringp (car contact))
                             (not (equal (car contact) prtrace-command))
                             (not (seq-find #'integerp contact)))
                        (cons (car entry) (prtrace-wrap contact))
                      entry)))
                eglot-server-programs)))

(provide 'prtrace-eglot)
;;; prtrace-eglot.el ends here
