"""The bash half that ``prtrace shell`` and ``prtrace hook bash`` share: which command line
the user ran, where, and when it ended — under whatever else the rc files installed.

bash has no preexec. The DEBUG-trap emulation (bash-preexec's technique, which the
integration used before) is easy to get wrong: every ``PROMPT_COMMAND`` entry after ours
(pyenv-virtualenv's ``_pyenv_virtualenv_hook``, direnv's ``_direnv_hook``, VTE's
``__vte_prompt_command``, starship) fires the DEBUG trap too, so a preexec "armed at the
prompt" fired for the next entry and read the previous command from ``history 1``; a user's
own DEBUG trap was replaced; and a command line that starts with a subshell (``(exit 7)``)
never fires it at all on bash < 5.3.

So the start of a command comes from ``PS0`` (bash 4.4+), which bash expands exactly once
after it reads a command line and before it runs it — never for ``PROMPT_COMMAND``, never
for completion or ``bind -x``. Its expansion runs in the shell itself, so two expansions
that print nothing record state in the shell's variables without a fork::

    ${P_z:0:$((P_start=HISTCMD, P_ran=1, 0))}    # the history number after reading the line
    ${P_void[${P_cwd:=$PWD}]-}                   # the directory the command starts in

The DEBUG trap stays the user's. ``precmd`` is the first ``PROMPT_COMMAND`` entry (taken
back at every prompt if something was put before it later), or, when the user's rc loaded
bash-preexec, the first of its ``precmd_functions`` (it hands every one the command's
``$?``). It reads the command line from the history, where bash put the whole of it
(several lines, ``set -o vi``, completion — all as typed):

* the history number advanced: the line is ``history 1``;
* it did not and the user's ``HISTCONTROL`` ignores duplicates: the line was the last one
  again — ``history 1`` too;
* ``HISTCONTROL=ignorespace`` (or ``ignoreboth``) would keep a line that starts with a space
  out of the history, and with it its text. As bash-preexec does, we take ``ignorespace``
  out of ``HISTCONTROL``; unlike it, we then delete such a line from the history ourselves
  once read, so the user's history (``~/.bash_history``) is what it always was.
* otherwise (``HISTIGNORE``, ``set +o history``) bash kept no text: the command is skipped.

One ``history 1`` (a command substitution: one fork) per command line.
"""

from __future__ import annotations

NEW_ENOUGH = "(( BASH_VERSINFO[0] > 4 || (BASH_VERSINFO[0] == 4 && BASH_VERSINFO[1] >= 4) ))"
"""PS0 came with bash 4.4 (2016); older ones (macOS's /bin/bash 3.2) are told, once."""

TOO_OLD = (
    "builtin echo 'prtrace: bash 4.4 or newer records commands; this is bash' \"$BASH_VERSION\" >&2"
)


def common(p: str, ps0: str = "") -> str:
    """The shared functions, prefixed ``p``; ``ps0`` is printed first by our ``PS0``
    piece (``prtrace shell``'s ``C`` mark). Defines ``{p}_took`` (after a command line:
    true, ``REPLY`` its text — empty if bash kept none — and ``{p}_cwd`` where it started),
    ``{p}_arm`` (at the end of ``{p}_precmd``) and ``{p}_install``."""
    return (
        (
            r"""
{P}_z=x
declare -gA {P}_void
{P}_start=0 {P}_ran=0 {P}_hist=0 {P}_cwd= {P}_t0=
{P}_ps0='PS0MARK${{P}_z:0:$(({P}_start=HISTCMD,{P}_ran=1,0))}${{P}_void[${{P}_cwd:=$PWD}]-}'
{P}_histcontrol() {
    {P}_user_hc=${HISTCONTROL-}
    local hc=${P}_user_hc
    hc=${hc//ignorespace/}; hc=${hc//ignoreboth/ignoredups}
    [ "$hc" = "${P}_user_hc" ] || HISTCONTROL=$hc
    {P}_eff_hc=${HISTCONTROL-}
}
{P}_took() {
    [ "${P}_ran" = 1 ] || return 1
    local line= num
    if (( {P}_start > {P}_hist )) || [[ ${P}_user_hc == *ignore[db]* && :$SHELLOPTS: == *:history:* && -z ${HISTIGNORE-} ]]; then
        line=$(HISTTIMEFORMAT= builtin history 1)
        line=${line#"${line%%[![:space:]]*}"}
        num=${line%%[!0-9]*}
        line=${line#"$num"}; line=${line:2}
        if (( {P}_start > {P}_hist )) && [[ $line == [[:space:]]* && ${P}_user_hc == *ignore[sb]* ]]; then
            builtin history -d "$num" 2>/dev/null  # the user keeps such lines out of the history
        fi
        line=${line#"${line%%[![:space:]]*}"}
        line=${line%"${line##*[![:space:]]}"}
    fi
    REPLY=$line
}
{P}_first() {
    local f a=()
    if [ -n "${bash_preexec_imported:-}${__bp_imported:-}" ]; then
        # bash-preexec is loaded: be the first of its precmd_functions (each gets the $?)
        if [ "${precmd_functions[0]-}" != {P}_precmd ]; then
            for f in "${precmd_functions[@]}"; do [ "$f" = {P}_precmd ] || a+=("$f"); done
            precmd_functions=({P}_precmd "${a[@]}")
        fi
        if [[ ${PROMPT_COMMAND[*]-} == *{P}_precmd* ]]; then
            if [[ ${PROMPT_COMMAND+${PROMPT_COMMAND@a}} == *a* ]]; then
                PROMPT_COMMAND=("${PROMPT_COMMAND[@]//{P}_precmd/:}")
            else
                PROMPT_COMMAND=${PROMPT_COMMAND//{P}_precmd/:}
            fi
        fi
    elif [[ ${PROMPT_COMMAND+${PROMPT_COMMAND@a}} == *a* ]]; then
        [ "${PROMPT_COMMAND[0]-}" = {P}_precmd ] && return 0
        PROMPT_COMMAND=({P}_precmd "${PROMPT_COMMAND[@]//{P}_precmd/:}")
    else
        [[ ${PROMPT_COMMAND-} == {P}_precmd$'\n'* ]] && return 0
        f=${PROMPT_COMMAND-}
        f=${f//{P}_precmd/:}
        PROMPT_COMMAND={P}_precmd${f:+$'\n'$f}
    fi
}
{P}_arm() {
    {P}_ran=0 {P}_cwd= {P}_t0= {P}_hist=$HISTCMD
    [ "${HISTCONTROL-}" = "${{P}_eff_hc-}" ] || {P}_histcontrol  # the user changed it: follow
    case "${PS0-}" in *"${P}_ps0"*) ;; *) PS0=${PS0-}${P}_ps0 ;; esac
    {P}_first
}
{P}_install() {
    {P}_histcontrol
    {P}_arm
}
"""
        )
        .replace("{P}", p)
        .replace("PS0MARK", ps0)
    )
