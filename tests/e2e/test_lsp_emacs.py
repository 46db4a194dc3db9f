"""Real Emacs (Debian's emacs-nox, elpa-eglot, elpa-lsp-mode) in batch mode, with the
shipped configs (editor-configs/emacs/), runs pylsp through ``prtrace lsp``: open, go
to definition, edit, save — the same assertions as the Neovim test
(tests/support/lsp_support.py: assert_editor_session)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.lsp_support import (
    ROOT,
    assert_editor_session,
    editor_env,
    editor_workspace,
    wait_for_saved,
)
from tests.support.services import service_required

# What a user's init.el does for each client, then how the driver starts it in this
# buffer and asks whether it is ready. eglot-ensure waits for a command loop, which
# batch mode has not, so the eglot driver calls `eglot' as M-x eglot does.
CLIENTS = {
    "eglot": {
        "config": "prtrace-eglot.el",
        "setup": "(prtrace-eglot-setup)",
        "start": "(apply #'eglot (eglot--guess-contact))",
        "ready": "(and (eglot-current-server) (eglot--server-capable :definitionProvider))",
        "definition": "(call-interactively #'xref-find-definitions)",
    },
    "lsp-mode": {
        "config": "prtrace-lsp-mode.el",
        "setup": """(prtrace-lsp-mode-setup)
      (setq lsp-enabled-clients '(pylsp) lsp-auto-guess-root t lsp-restart 'ignore
            lsp-enable-file-watchers nil lsp-enable-snippet nil
            lsp-session-file (expand-file-name "lsp-session" (getenv "HOME")))
      (add-hook 'python-mode-hook #'lsp)""",
        "start": "nil",
        "ready": '(and (bound-and-true-p lsp-mode) (lsp-workspaces) (lsp-feature? "textDocument/definition"))',
        "definition": "(lsp-find-definition)",
    },
}

DRIVER = r"""
;; -*- lexical-binding: t; -*-
(package-initialize)                     ; Debian's elpa-* packages
(defvar ws (getenv "PRTRACE_TEST_WS"))
(defun prtrace-test-wait (pred secs)
  (let ((deadline (+ (float-time) secs)))
    (while (and (not (funcall pred)) (< (float-time) deadline))
      (accept-process-output nil 0.05))
    (funcall pred)))
(defun prtrace-test-pause (secs) (prtrace-test-wait (lambda () nil) secs))
(condition-case err
    (let (main)
      (load "CONFIG")
      SETUP
      (find-file (expand-file-name "main.py" ws))
      START
      (unless (prtrace-test-wait (lambda () READY) 120) (error "pylsp did not attach"))
      (setq main (current-buffer))
      (goto-char (point-min)) (forward-line 2) (forward-char 8)   ; on helper in print(helper(2))
      DEFINITION
      (unless (prtrace-test-wait
               (lambda () (string-match-p "pkg/util\\.py\\'" (or buffer-file-name ""))) 20)
        (error "go to definition did not jump (in %s)" buffer-file-name))
      (prtrace-test-pause 0.5)
      (switch-to-buffer main)
      (goto-char (point-max))
      (insert "value = helper(3)\n")                               ; a new last line, typed
      (prtrace-test-pause 0.5)
      (goto-char (point-min)) (forward-line 2) (forward-char 13)
      (delete-char 1) (insert "4")                                  ; helper(2) -> helper(4)
      (prtrace-test-pause 0.5)
      (save-buffer)
      (prtrace-test-pause 1))
  (error (with-temp-file (expand-file-name "../emacs-error.txt" ws)
           (insert (format "%S" err)))
         (kill-emacs 3)))
(kill-emacs 0)
"""


@pytest.mark.parametrize("client", sorted(CLIENTS))
def test_emacs_session_with_shipped_config(tmp_path: Path, client: str) -> None:
    emacs = shutil.which("emacs")
    if not emacs:
        service_required(
            "emacs is not installed (apt-get install emacs-nox elpa-eglot elpa-lsp-mode; "
            "./dev test does)"
        )
    if not Path(sys.executable).with_name("pylsp").exists():
        service_required("pylsp is not installed")
    ws = editor_workspace(tmp_path)
    spec = CLIENTS[client]
    driver = DRIVER.replace("CONFIG", str(ROOT / "editor-configs" / "emacs" / spec["config"]))
    for key in ("setup", "start", "ready", "definition"):
        driver = driver.replace(key.upper(), spec[key])
    (tmp_path / "driver.el").write_text(driver)
    done = subprocess.run(
        [emacs, "--batch", "-q", "-l", str(tmp_path / "driver.el")],
        cwd=ws,
        env=editor_env(tmp_path, ws),
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    error = tmp_path / "emacs-error.txt"
    assert done.returncode == 0, (error.read_text() if error.exists() else "") + done.stderr
    assert_editor_session(wait_for_saved(ws), ws, tmp_path)


def test_prtrace_setup_emacs_wraps_both_clients(tmp_path: Path) -> None:
    """What ``prtrace setup emacs`` writes into init.el makes eglot and lsp-mode start
    pylsp behind this install's ``prtrace lsp``."""
    from tests.support.lsp_support import prtrace_cmd

    emacs = shutil.which("emacs")
    if not emacs:
        service_required("emacs is not installed (./dev test installs it)")
    home = tmp_path / "home"
    subprocess.run([*prtrace_cmd(), "setup", "emacs", "--home", str(home)], check=True)
    probe = (
        "(progn (require 'eglot) (print (cdr (assoc '(python-mode python-ts-mode) "
        "eglot-server-programs))) (require 'lsp-mode) "
        '(print (lsp-resolve-final-function \'("pylsp"))))'
    )
    done = subprocess.run(
        [emacs, "--batch", "--eval", "(package-initialize)", "-l",
         str(home / ".emacs.d" / "init.el"), "--eval", probe],
        env={"HOME": str(home), "PATH": "/usr/bin:/bin"},
        capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    wrapped = f'("{prtrace_cmd()[0]}" "lsp" "--" "pylsp")'
    assert done.stdout.split() and done.stdout.count(wrapped) == 2, done.stdout + done.stderr
