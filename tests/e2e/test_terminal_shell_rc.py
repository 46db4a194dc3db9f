"""Commands recorded right under rc files people really have.

Each row is an rc file written after the real projects' own hook code (pyenv-virtualenv's
``_pyenv_virtualenv_hook``, direnv's ``_direnv_hook``, VTE's ``__vte_prompt_command``,
starship's ``PROMPT_COMMAND``/DEBUG trap and precmd, bash-preexec, oh-my-zsh's
``precmd_functions``, powerlevel10k's instant prompt, fish's own event functions; the
programs themselves are stubbed by shell functions, their hook code is theirs). Each runs
under ``prtrace shell`` and under ``prtrace hook``, typed into through tmux as a person
types (the next line once the last one is recorded), and every command must come out as
itself: its own text, exit code and directory, and (``prtrace shell``) its own output,
without the prompt or the typed line.

Issue 13: with pyenv-virtualenv's entry in ``PROMPT_COMMAND`` every command was recorded
with its predecessor's text and its successor's exit code and output.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from prtrace.recorder.pipeline.emitter import EventEmitter
from prtrace.recorder.pipeline.spool import Spool
from prtrace.recorder.terminal.commands import CommandRecord
from prtrace.recorder.terminal.hook_socket import HookListener
from prtrace.recorder.terminal.hooks import SNIPPETS, emit_received
from tests.support.lsp_support import prtrace_cmd
from tests.support.terminal_support import Tmux, need, spooled, wait_for

BASH_PREEXEC = Path(__file__).resolve().parents[1] / "support" / "vendor" / "bash-preexec.sh"


@dataclass(frozen=True)
class Step:
    lines: tuple[str, ...]  # typed, each followed by Enter
    cmd: str
    exit_code: int
    cwd: str  # "." is the workspace
    stdout: str  # "{ws}" stands for the workspace's path


def step(
    line: str | tuple[str, ...], cmd: str | None = None, ec: int = 0, cwd: str = ".", out: str = ""
) -> Step:
    lines = (line,) if isinstance(line, str) else line
    return Step(lines, cmd if cmd is not None else lines[0], ec, cwd, out)


POSIX = [  # issue 13's session, and a command that starts outside the workspace
    step("echo one", out="one\n"),
    step("false", ec=1),
    step("(exit 7)", ec=7),
    step("cd /tmp && cd -", out="{ws}\n"),
    step("cd /tmp"),
    step("pwd", cwd="/tmp", out="/tmp\n"),
    step("cd - >/dev/null", cwd="/tmp"),
    step("echo two", out="two\n"),
]
FISH = [
    step("echo one", out="one\n"),
    step("false", ec=1),
    step("sh -c 'exit 7'", ec=7),
    step("cd /tmp; and cd -"),
    step("cd /tmp"),
    step("pwd", cwd="/tmp", out="/tmp\n"),
    step("cd -", cwd="/tmp"),
    step("echo two", out="two\n"),
]

DEBIAN = """# ~/.bashrc: executed by bash(1) for non-login shells (Debian's skeleton, shortened)
case $- in *i*) ;; *) return;; esac
HISTCONTROL=ignoreboth
shopt -s histappend
HISTSIZE=1000
HISTFILESIZE=2000
shopt -s checkwinsize
PS1='${debian_chroot:+($debian_chroot)}\\u@\\h:\\w ready\\$ '
"""

PYENV_VIRTUALENV = r"""pyenv() { return 1; }  # the pyenv binary: no virtualenv here
# eval "$(pyenv virtualenv-init -)" prints:
export PATH="$HOME/.pyenv/plugins/pyenv-virtualenv/shims:${PATH}";
export PYENV_VIRTUALENV_INIT=1;
_pyenv_virtualenv_hook() {
  local ret=$?
  if [ -n "${VIRTUAL_ENV-}" ]; then
    eval "$(pyenv sh-activate --quiet || pyenv sh-deactivate --quiet || true)" || true
  else
    eval "$(pyenv sh-activate --quiet || true)" || true
  fi
  return $ret
};
if ! [[ "${PROMPT_COMMAND-}" =~ _pyenv_virtualenv_hook ]]; then
  PROMPT_COMMAND="_pyenv_virtualenv_hook;${PROMPT_COMMAND-}"
fi
"""

DIRENV = r"""direnv() { [ "$1" = export ] && echo 'export DIRENV_WATCHES=x'; }
# eval "$(direnv hook bash)" prints:
_direnv_hook() {
  local previous_exit_status=$?;
  trap -- '' SIGINT;
  eval "$(direnv export bash)";
  trap - SIGINT;
  return $previous_exit_status;
};
if [[ ";${PROMPT_COMMAND[*]:-};" != *";_direnv_hook;"* ]]; then
  if [[ "$(declare -p PROMPT_COMMAND 2>&1)" == "declare -a"* ]]; then
    PROMPT_COMMAND=(_direnv_hook "${PROMPT_COMMAND[@]}")
  else
    PROMPT_COMMAND="_direnv_hook${PROMPT_COMMAND:+;$PROMPT_COMMAND}"
  fi
fi
"""

VTE = r"""# /etc/profile.d/vte-2.91.sh
__vte_urlencode() (
  LC_ALL=C
  str="$1"
  while [ -n "$str" ]; do
    safe="${str%%[!a-zA-Z0-9/:_\.\-\!\'\(\)~]*}"
    printf "%s" "$safe"
    str="${str#"$safe"}"
    if [ -n "$str" ]; then
      printf "%%%02X" "'$str"
      str="${str#?}"
    fi
  done
)
__vte_osc7 () {
  printf "\033]7;file://%s%s\033\\" "${HOSTNAME}" "$(__vte_urlencode "${PWD}")"
}
__vte_prompt_command() {
  local pwd='~'
  [ "$PWD" != "$HOME" ] && pwd=${PWD/#$HOME\//\~\/}
  pwd="${pwd//[[:cntrl:]]}"
  printf '\033]0;%s@%s:%s\033\\' "${USER}" "${HOSTNAME%%.*}" "${pwd}"
  __vte_osc7
}
case "$TERM" in
  xterm*|vte*|tmux*)
    [ -n "${BASH_VERSION:-}" ] && PROMPT_COMMAND="__vte_prompt_command${PROMPT_COMMAND:+;$PROMPT_COMMAND}"
    ;;
esac
"""

STARSHIP = r"""# eval "$(starship init bash)", with the prompt itself stubbed
starship_precmd() {
    STARSHIP_CMD_STATUS=$? STARSHIP_PIPE_STATUS=(${PIPESTATUS[@]})
    local NUM_JOBS=0
    for job in $(jobs -p); do [[ $job ]] && ((NUM_JOBS++)); done
    if [[ -n "${STARSHIP_START_TIME-}" ]]; then
        STARSHIP_DURATION=$(( ${EPOCHREALTIME/[.,]/} / 1000 - STARSHIP_START_TIME ))
        unset STARSHIP_START_TIME
    fi
    PS1="[$STARSHIP_CMD_STATUS] ready❯ "
    STARSHIP_PREEXEC_READY=true
}
starship_preexec() {
    local PREV_LAST_ARG=$1
    if [[ "${STARSHIP_PREEXEC_READY:-}" == "true" ]]; then
        STARSHIP_PREEXEC_READY=false
        STARSHIP_START_TIME=$(( ${EPOCHREALTIME/[.,]/} / 1000 ))
    fi
    : "$PREV_LAST_ARG"
}
if [[ "${__bp_imported:-}" == "defined" || -n "${bash_preexec_imported:-}" ]]; then
    precmd_functions+=(starship_precmd)
    preexec_functions+=(starship_preexec)
else
    dbg_trap="$(trap -p DEBUG | cut -d' ' -f3 | tr -d \')"
    if [[ -z "$dbg_trap" ]]; then
        trap 'starship_preexec "$_"' DEBUG
    elif [[ "$dbg_trap" != 'starship_preexec "$_"' && "$dbg_trap" != 'starship_preexec_all "$_"' ]]; then
        starship_preexec_all() {
            local PREV_LAST_ARG=$1 ; $dbg_trap; starship_preexec; : "$PREV_LAST_ARG";
        }
        trap 'starship_preexec_all "$_"' DEBUG
    fi
    if [[ -z "${PROMPT_COMMAND-}" ]]; then
        PROMPT_COMMAND="starship_precmd"
    elif [[ "$PROMPT_COMMAND" != *"starship_precmd"* ]]; then
        PROMPT_COMMAND="$(echo "$PROMPT_COMMAND" | sed '$s/;[[:space:]]*$//');starship_precmd"
    fi
fi
STARSHIP_START_TIME=$(( ${EPOCHREALTIME/[.,]/} / 1000 ))
"""

ARRAY_AND_DEBUG_TRAP = r"""PS1='ready\$ '
__titles=0
__title() { printf '\e]0;%s\a' "$PWD"; __titles=$((__titles + 1)); }
PROMPT_COMMAND=('history -a' __title)
__dbg_count=0
trap '__dbg_count=$((__dbg_count + 1))' DEBUG
"""

BASH_PREEXEC_USER = f"""PS1='ready\\$ '
HISTCONTROL=ignoreboth
set -o vi
source {BASH_PREEXEC}
preexec() {{ __seen=$1; }}
my_precmd() {{ __precmds=$((__precmds + 1)); }}
precmd_functions+=(my_precmd)
"""

HISTORY_EDGES = r"""PS1='ready\$ '
HISTCONTROL=ignoreboth
HISTFILE=~/.bash_history
set -o vi
"""

HIST_STEPS = [
    step(" echo hidden-$((1+1))", "echo hidden-$((1+1))", out="hidden-2\n"),
    step("echo dup", out="dup\n"),
    step("echo dup", out="dup\n"),
    step(
        ("for i in 1 2; do", "echo n$i", "done"), "for i in 1 2; do echo n$i; done", out="n1\nn2\n"
    ),
    # the line with a leading space stayed out of the history, as HISTCONTROL asks
    step("history | grep -c hidden", out="1\n"),
]

ZSH_OMZ = r"""# oh-my-zsh: lib/termsupport.zsh, lib/history.zsh, a theme with git info (stubbed)
autoload -Uz add-zsh-hook
setopt prompt_subst hist_ignore_space hist_ignore_dups share_history
HISTFILE=~/.zsh_history; HISTSIZE=50000; SAVEHIST=10000
function title { print -Pn "\e]2;$2:q\a\e]1;$1:q\a" }
function omz_termsupport_precmd { title "%15<..<%~%<<" "%n@%m:%~" }
function omz_termsupport_preexec {
  emulate -L zsh
  setopt extended_glob
  local CMD="${1[(wr)^(*=*|sudo|ssh|mosh|rake|-*)]:gs/%/%%}"
  local LINE="${2:gs/%/%%}"
  title "$CMD" "%100>...>${LINE}%<<"
}
add-zsh-hook precmd omz_termsupport_precmd
add-zsh-hook preexec omz_termsupport_preexec
function _omz_git_prompt_info { return 1 }
function _omz_async_request { _omz_git_prompt_info >/dev/null; return 0 }
add-zsh-hook precmd _omz_async_request
PROMPT='%~ ready%# '
"""

ZSH_P10K = r"""# powerlevel10k: the instant prompt at the top of ~/.zshrc, then the theme's hooks
typeset -g __p9k_fd
print -n 'p10k ready> '
exec {__p9k_fd}>&1 1>/dev/null
_p9k_instant_prompt_precmd_first() {
  exec 1>&$__p9k_fd {__p9k_fd}>&-
  precmd_functions=(${precmd_functions:#_p9k_instant_prompt_precmd_first})
}
precmd_functions=(_p9k_instant_prompt_precmd_first $precmd_functions)
echo 'console output during init'
autoload -Uz add-zsh-hook
_p9k_preexec1() { _p9k__preexec_cmd=$2 }
_p9k_preexec2() { typeset -g _p9k__timer_start=$EPOCHREALTIME }
_p9k_precmd() {
  local -i _p9k__status=$?
  PROMPT="[${_p9k__status}] p10k ready> "
  if (( precmd_functions[-1] != _p9k_precmd )); then
    precmd_functions=(${(@)precmd_functions:#_p9k_precmd} _p9k_precmd)
  fi
  return 0
}
zmodload zsh/datetime
add-zsh-hook preexec _p9k_preexec1
add-zsh-hook preexec _p9k_preexec2
add-zsh-hook precmd _p9k_precmd
setopt hist_ignore_space
"""

ZSH_STARSHIP = r"""# eval "$(starship init zsh)", with the prompt itself stubbed
zmodload zsh/datetime
zmodload zsh/parameter
prompt_starship_precmd() {
    STARSHIP_CMD_STATUS=$? STARSHIP_PIPE_STATUS=(${pipestatus[@]})
    if (( ${+STARSHIP_START_TIME} )); then
        STARSHIP_DURATION=$(( EPOCHREALTIME - STARSHIP_START_TIME ))
        unset STARSHIP_START_TIME
    fi
    STARSHIP_JOBS_COUNT=${#jobstates}
}
prompt_starship_preexec() { STARSHIP_START_TIME=$EPOCHREALTIME }
autoload -Uz add-zsh-hook
add-zsh-hook precmd prompt_starship_precmd
add-zsh-hook preexec prompt_starship_preexec
starship_zle-keymap-select() { zle reset-prompt }
zle -N zle-keymap-select starship_zle-keymap-select
setopt promptsubst
PROMPT='[${STARSHIP_CMD_STATUS:-0}] ready❯ '
bindkey -v
"""

ZSH_STEPS = [
    step(" echo hidden", "echo hidden", out="hidden\n"),
    step(
        ("for i in 1 2; do", "echo n$i", "done"), "for i in 1 2; do\necho n$i\ndone", out="n1\nn2\n"
    ),
]

FISH_OWN = r"""set -g fish_greeting
function fish_prompt; echo -n (prompt_pwd)' ready> '; end
function fish_right_prompt; echo -n '['$status']'; end
function __my_title --on-event fish_preexec
    printf '\e]0;%s\a' "$argv[1]"
end
function __my_postexec --on-event fish_postexec
    set -g __my_last $status
    true
end
function __my_prompt_event --on-event fish_prompt
    set -g __my_prompts (math (count $__my_prompts) + 1)
end
"""

FISH_STARSHIP_VI = r"""set -g fish_greeting
fish_vi_key_bindings
# starship init fish | source, with the prompt itself stubbed
function fish_prompt
    switch "$fish_key_bindings"
        case fish_hybrid_key_bindings fish_vi_key_bindings
            set STARSHIP_KEYMAP "$fish_bind_mode"
        case '*'
            set STARSHIP_KEYMAP insert
    end
    set STARSHIP_CMD_PIPESTATUS $pipestatus
    set STARSHIP_CMD_STATUS $status
    set STARSHIP_DURATION "$CMD_DURATION$cmd_duration"
    set STARSHIP_JOBS (count (jobs -p))
    echo -n "[$STARSHIP_CMD_STATUS] ready❯ "
end
function fish_mode_prompt; end
set -g VIRTUAL_ENV_DISABLE_PROMPT 1
builtin functions -e fish_mode_prompt
set -gx STARSHIP_SHELL fish
"""


@dataclass(frozen=True)
class Rc:
    shell: str
    text: str  # "{HOOK}" is where `prtrace hook` goes; gone under `prtrace shell`
    steps: tuple[Step, ...] = ()


RCS = {
    "bash-pyenv-virtualenv": Rc("bash", DEBIAN + "{HOOK}" + PYENV_VIRTUALENV),
    "bash-direnv": Rc("bash", DEBIAN + DIRENV + "{HOOK}"),
    "bash-vte": Rc("bash", "{HOOK}" + VTE + DEBIAN),
    "bash-starship": Rc("bash", DEBIAN + "{HOOK}" + STARSHIP),
    "bash-array-debug-trap": Rc(
        "bash",
        ARRAY_AND_DEBUG_TRAP + "{HOOK}" + DIRENV,
        (
            step("trap -p DEBUG", out="trap -- '__dbg_count=$((__dbg_count + 1))' DEBUG\n"),
            step("echo $((__dbg_count > 5)) $((__titles > 5))", out="1 1\n"),
        ),
    ),
    "bash-preexec-loaded": Rc(
        "bash",
        BASH_PREEXEC_USER + "{HOOK}" + PYENV_VIRTUALENV,
        (
            step("echo seen=$__seen", out="seen=echo seen=$__seen\n"),
            step("echo $((__precmds > 5))", out="1\n"),
            *HIST_STEPS[:4],
        ),
    ),
    "bash-history-edges": Rc("bash", HISTORY_EDGES + "{HOOK}" + VTE, tuple(HIST_STEPS)),
    "zsh-oh-my-zsh": Rc("zsh", ZSH_OMZ + "{HOOK}", tuple(ZSH_STEPS)),
    "zsh-p10k-instant-prompt": Rc("zsh", ZSH_P10K + "{HOOK}", tuple(ZSH_STEPS)),
    "zsh-starship-vi": Rc("zsh", "{HOOK}" + ZSH_STARSHIP, tuple(ZSH_STEPS)),
    "fish-own-functions": Rc("fish", FISH_OWN + "{HOOK}"),
    "fish-starship-vi": Rc("fish", FISH_STARSHIP_VI + "{HOOK}"),
}

RC_FILE = {"bash": ".bashrc", "zsh": ".zshrc", "fish": ".config/fish/config.fish"}
WARM_UP = "true"


def _steps(rc: Rc) -> list[Step]:
    common = FISH if rc.shell == "fish" else POSIX
    return [*common, *rc.steps]


def _setup(tmp_path: Path, rc: Rc, hook: bool) -> tuple[Path, dict[str, str]]:
    ws, home = tmp_path / "ws", tmp_path / "home"
    ws.mkdir()
    home.mkdir()
    subprocess.run(["git", "init", "-q"], cwd=ws, check=True)
    path = home / RC_FILE[rc.shell]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(rc.text.replace("{HOOK}", SNIPPETS[rc.shell] if hook else ""))
    env = {
        "HOME": str(home),
        "PATH": os.environ["PATH"],
        "TERM": "tmux-256color",
        "LANG": "C.UTF-8",
        "USER": "dev",
    }
    return ws, env


def _type(term: Tmux, steps: list[Step], recorded: Callable[[], int], hook: bool) -> list[Step]:
    """Each line once the one before is recorded, as a person types at the prompt; the
    steps that must be recorded (the hook records only commands that start in a recorded
    workspace)."""
    wait_for(lambda: "ready" in term.screen(), what="the rc file's prompt")
    term.line(WARM_UP)
    wait_for(lambda: recorded() >= 1, what="the warm-up command")
    want = []
    for s in steps:
        shown = term.screen().count("ready")
        for line in s.lines:
            term.line(line)
        if hook and s.cwd.startswith("/"):
            # not recorded: the next prompt says it is done
            wait_for(lambda: term.screen().count("ready") > shown, what=f"{s.cmd!r}")
            continue
        want.append(s)
        n = len(want) + 1
        wait_for(lambda: recorded() >= n, timeout=20, what=f"command {n}: {s.cmd!r}")
    return want


def _check(ws: Path, steps: list[Step], cmds: list[dict], output: bool) -> None:
    assert cmds[0]["cmd"] == WARM_UP
    got = [
        (c["cmd"], c.get("exit_code"), c["cwd"], c.get("stdout", "") if output else "")
        for c in cmds[1 : len(steps) + 1]
    ]
    want = [
        (s.cmd, s.exit_code, s.cwd, s.stdout.replace("{ws}", str(ws)) if output else "")
        for s in steps
    ]
    assert got == want


@pytest.mark.parametrize("name", list(RCS))
def test_prtrace_shell_under_real_rc_files(tmp_path: Path, name: str) -> None:
    rc = RCS[name]
    path = need(rc.shell)
    ws, env = _setup(tmp_path, rc, hook=False)
    env |= {"PRTRACE_WORKSPACE": str(ws), "SHELL": path}
    steps = _steps(rc)
    term = Tmux([*prtrace_cmd(), "shell", "--no-upload"], cwd=ws, env=env)
    try:
        steps = _type(term, steps, lambda: len(spooled(ws, "terminal_command")), hook=False)
        term.line("exit")
        wait_for(lambda: not term.alive(), what="prtrace shell to exit with the shell")
    finally:
        term.close()
    cmds = spooled(ws, "terminal_command")
    _check(ws, steps, cmds, output=True)
    assert all(c["output_merged"] for c in cmds)
    if rc.shell == "bash":
        assert [c["cmd"] for c in cmds[len(steps) + 1 :]] == ["exit"]
        history = Path(env["HOME"], ".bash_history")
        assert "echo hidden" not in (history.read_text() if history.exists() else "")


@pytest.mark.parametrize("name", list(RCS))
def test_prtrace_hook_under_real_rc_files(
    tmp_path: Path, name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    rc = RCS[name]
    path = need(rc.shell)
    ws, env = _setup(tmp_path, rc, hook=True)
    monkeypatch.setenv("PRTRACE_WORKSPACE", str(ws))  # the privacy step's opt-in
    (ws / ".prtrace" / "hook").mkdir(parents=True)
    listener = HookListener(ws / ".prtrace" / "hook").start()  # as the session's daemon runs it
    got: list[CommandRecord] = []

    def recorded() -> int:
        got.extend(listener.drain())
        return len(got)

    steps = _steps(rc)
    term = Tmux([path, "-i"], cwd=ws, env=env)
    try:
        steps = _type(term, steps, recorded, hook=True)
        term.line("exit")
        wait_for(lambda: not term.alive(), what="the shell to exit")
    finally:
        term.close()
        listener.stop()
    recorded()
    with Spool.for_workspace(ws) as spool:
        emit_received(ws, EventEmitter(spool, source="hook"), got)
    cmds = spooled(ws, "terminal_command")
    _check(ws, steps, cmds, output=False)
    assert [c["cmd"] for c in cmds[len(steps) + 1 :]] == (["exit"] if rc.shell == "fish" else [])
