"""Shell integration for ``prtrace shell``: OSC 133 marks around every command.

The shell itself knows what the user ran, where, and how it ended; the PTY
only sees bytes. So ``prtrace shell`` starts the user's shell with a small
script — after the user's own rc files, so their prompt, aliases and functions
are theirs — that writes invisible marks into the output stream
(terminals ignore OSC sequences they do not know):

=========================================  ===================================
``ESC ] 133 ; A BEL``                      a prompt is about to be drawn
``ESC ] 133 ; C ; <cmd> ; <cwd> BEL``      the command line was accepted and
                                           is about to run (preexec)
``ESC ] 133 ; D ; <exit code> BEL``        it finished (precmd)
``ESC ] 133 ; E ; <cmd> ; <cwd> BEL``      bash: what the command that just ended was
=========================================  ===================================

``cmd`` and ``cwd`` are percent-encoded (``%``, ``;``, BEL, ESC, newlines), by
shell parameter expansion only: no process is forked per command except bash's
one ``history 1`` to read the full command line.

* **bash**: ``bash --rcfile <ours> -i``; ours sources ``/etc/bash.bashrc`` and
  ``~/.bashrc``, then adds :mod:`prtrace.recorder.terminal.bash_hooks`: ``PS0`` writes ``C``
  (bash expands it once per command line, never for ``PROMPT_COMMAND`` entries), and the
  precmd, first in ``PROMPT_COMMAND`` (or in bash-preexec's ``precmd_functions``), writes
  ``D`` and then ``E`` with the line from the history and the directory ``PS0`` saw.
* **zsh**: ``ZDOTDIR`` points at a folder of ours whose ``.zshenv``,
  ``.zprofile`` and ``.zshrc`` source the user's (from their ``ZDOTDIR`` or
  ``$HOME``) and hand ``ZDOTDIR`` back; hooks via ``precmd``/``preexec``.
* **fish**: ``fish -C 'source <ours>'``: ``fish_preexec``/``fish_postexec`` events.
"""

from __future__ import annotations

import os
from pathlib import Path

from prtrace.recorder.terminal import bash_hooks

_BASH = (
    r"""# prtrace shell integration (bash): written by `prtrace shell`, removed when it exits.
if [ -z "${__prtrace_loaded:-}" ]; then
__prtrace_loaded=1
[ -r /etc/bash.bashrc ] && . /etc/bash.bashrc
[ -r "$HOME/.bashrc" ] && . "$HOME/.bashrc"
fi
if ! """
    + bash_hooks.NEW_ENOUGH
    + """; then
    """
    + bash_hooks.TOO_OLD
    + r"""
elif [ -z "${__prtrace_marks:-}" ]; then
__prtrace_marks=1
__prtrace_enc() {
    local s=${1//\%/%25}
    s=${s//;/%3B}; s=${s//$'\a'/%07}; s=${s//$'\e'/%1B}; s=${s//$'\n'/%0A}; s=${s//$'\r'/%0D}
    REPLY=$s
}
"""
    + bash_hooks.common("__prtrace", r"\e]133;C\a")
    + r"""__prtrace_name() {
    if __prtrace_took; then
        __prtrace_enc "$REPLY"; local c=$REPLY
        __prtrace_enc "$__prtrace_cwd"
        builtin printf '\e]133;E;%s;%s\a' "$c" "$REPLY"
    fi
}
__prtrace_precmd() {
    local ec=$?
    if [ "$__prtrace_ran" = 1 ]; then
        # D at once, so typeahead echoed from here on is not the command's output; its
        # name after, once read from the history
        builtin printf '\e]133;D;%s\a' "$ec"
        __prtrace_name
    fi
    builtin printf '\e]133;A\a'
    __prtrace_arm
    return $ec
}
# `exit` (or Ctrl-D after a command) ends the shell before any precmd: say what it was.
# The user's own EXIT trap still runs, after ours.
__prtrace_on_exit() {
    if [ "$__prtrace_ran" = 1 ]; then
        builtin printf '\e]133;D\a'
        __prtrace_name
    fi
    eval "${__prtrace_exit_trap-}"
}
eval "__prtrace_a=($(trap -p EXIT))"
__prtrace_exit_trap=${__prtrace_a[2]-}
unset __prtrace_a
trap __prtrace_on_exit EXIT
__prtrace_install
fi
"""
)

_ZSH_HOOKS = r"""
__prtrace_enc() {
    local s=${1//\%/%25}
    s=${s//;/%3B}; s=${s//$'\a'/%07}; s=${s//$'\e'/%1B}; s=${s//$'\n'/%0A}; s=${s//$'\r'/%0D}
    REPLY=$s
}
__prtrace_precmd() {
    local ec=$?
    if [[ -n ${__prtrace_running:-} ]]; then
        builtin printf '\e]133;D;%s\a' "$ec"
        __prtrace_running=
    fi
    builtin printf '\e]133;A\a'
    # first to close the command, last to open the next: what other hooks print (a
    # framework's title, a newline) is neither's output. Hooks added later move us back.
    [[ ${precmd_functions[1]-} == __prtrace_precmd ]] ||
        precmd_functions=(__prtrace_precmd ${precmd_functions:#__prtrace_precmd})
    [[ ${preexec_functions[-1]-} == __prtrace_preexec ]] ||
        preexec_functions=(${preexec_functions:#__prtrace_preexec} __prtrace_preexec)
}
__prtrace_preexec() {
    __prtrace_enc "$1"; local c=$REPLY
    __prtrace_enc "$PWD"
    builtin printf '\e]133;C;%s;%s\a' "$c" "$REPLY"
    __prtrace_running=1
}
precmd_functions=(__prtrace_precmd ${precmd_functions[@]})
preexec_functions+=(__prtrace_preexec)
"""


def _zsh_file(name: str, ours: Path, hooks: str = "") -> str:
    return (
        f"# prtrace shell integration (zsh): {name}\n"
        "ZDOTDIR=${PRTRACE_USER_ZDOTDIR:-$HOME}\n"
        f'[[ -r "$ZDOTDIR/{name}" ]] && source "$ZDOTDIR/{name}"\n'
        "PRTRACE_USER_ZDOTDIR=$ZDOTDIR\n" + (hooks if hooks else f"ZDOTDIR={_quote(str(ours))}\n")
    )


_FISH = r"""# prtrace shell integration (fish)
function __prtrace_prompt --on-event fish_prompt
    printf '\e]133;A\a'
end
function __prtrace_preexec --on-event fish_preexec
    set -l c (string escape --style=url -- "$argv[1]")
    set -l d (string escape --style=url -- "$PWD")
    printf '\e]133;C;%s;%s\a' "$c" "$d"
end
function __prtrace_postexec --on-event fish_postexec
    printf '\e]133;D;%s\a' $status
end
"""


def _quote(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"


def shell_kind(shell: str) -> str:
    name = os.path.basename(shell)
    for kind in ("bash", "zsh", "fish"):
        if name == kind or name.startswith(kind + "-") or name.startswith(kind + "5"):
            return kind
    return "other"


def launch(shell: str, folder: Path, env: dict[str, str]) -> list[str]:
    """The argv to start ``shell`` with integration; writes its files into ``folder``
    and adjusts ``env``. A shell we do not know runs as it is (no marks: the
    session records nothing from it, but it works)."""
    kind = shell_kind(shell)
    if kind == "bash":
        rc = folder / "bashrc"
        rc.write_text(_BASH)
        return [shell, "--rcfile", str(rc), "-i"]
    if kind == "zsh":
        zdot = folder / "zdotdir"
        zdot.mkdir(exist_ok=True)
        for name in (".zshenv", ".zprofile"):
            (zdot / name).write_text(_zsh_file(name, zdot))
        (zdot / ".zshrc").write_text(_zsh_file(".zshrc", zdot, _ZSH_HOOKS))
        user = env.get("ZDOTDIR")
        if user:
            env["PRTRACE_USER_ZDOTDIR"] = user
        else:
            env.pop("PRTRACE_USER_ZDOTDIR", None)
        env["ZDOTDIR"] = str(zdot)
        return [shell, "-i"]
    if kind == "fish":
        script = folder / "prtrace.fish"
        script.write_text(_FISH)
        return [shell, "-i", "-C", f"source {_quote(str(script))}"]
    return [shell, "-i"]
