"""``prtrace hook bash|zsh|fish``: every command of any terminal, without a PTY.

For developers who won't run ``prtrace shell``. The snippet, sourced from the
rc file, adds a preexec/precmd pair that costs next to nothing per command
(bash forks one ``history 1`` inside a recorded workspace, see
:mod:`prtrace.recorder.terminal.bash_hooks`; zsh none; fish runs ``date`` and ``bash``). After
each command it looks for the recorded workspace it started in (the nearest parent
folder with ``.prtrace/hook/``, which ``prtrace record start`` creates) and
sends one record::

    \\x1e<start> \\t <end> \\t <exit code> \\t <cwd, percent-encoded> \\n
    <the command line> \\x1f \\n

It goes over loopback to the session's daemon (:mod:`prtrace.recorder.terminal.hook_socket`;
bash's ``/dev/tcp``, zsh's ``zsh/net/tcp``, and for fish, which has no socket
builtin, one ``bash`` fed through its stdin), which redacts it on its way into
the spool: the raw command line never touches the disk. :func:`import_logs`
still reads ``.prtrace/hook/<pid>.log`` files that snippets of earlier versions
wrote (a spool cursor makes the import exactly-once; the raw lines are
overwritten once spooled).
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from urllib.parse import unquote

from prtrace.recorder.pipeline.emitter import EventEmitter
from prtrace.recorder.session.workspace import state_dir
from prtrace.recorder.terminal import bash_hooks
from prtrace.recorder.terminal.commands import CommandRecord, emit_command
from prtrace.recorder.terminal.hook_socket import HOOK_DIR

_CURSOR = "hook:"

_FIND = """__prtrace_hook_dir() {  # $1: where the command started
    local d=${1:-$PWD}
    while :; do
        if [[ -d $d/.prtrace/hook ]]; then REPLY=$d/.prtrace/hook; return 0; fi
        [[ -z $d || $d == / ]] && return 1
        d=${d%/*}
    done
}
__prtrace_hook_enc() {
    local s=${1//\\%/%25}
    s=${s//$'\\t'/%09}; s=${s//$'\\n'/%0A}; s=${s//$'\\r'/%0D}
    REPLY=$s
}
"""

BASH = (
    """# prtrace: record every command of this shell (command, cwd, exit code, duration)
# into the recorded workspace you are in. Add to ~/.bashrc:  eval "$(prtrace hook bash)"
if [ -n "${BASH_VERSION:-}" ] && ! """
    + bash_hooks.NEW_ENOUGH
    + """; then
    """
    + bash_hooks.TOO_OLD
    + """
elif [ -z "${__prtrace_hook_loaded:-}" ] && [ -n "${BASH_VERSION:-}" ]; then
__prtrace_hook_loaded=1
"""
    + _FIND
    + bash_hooks.common(
        "__prtrace_hook", r"${__prtrace_hook_z:0:$((__prtrace_hook_t0=${EPOCHREALTIME/[.,]/}+0,0))}"
    )
    + r"""__prtrace_hook_precmd() {
    local ec=$? end=$EPOCHREALTIME dir=
    [ "$__prtrace_hook_ran" = 1 ] && __prtrace_hook_dir "$__prtrace_hook_cwd" && dir=$REPLY
    # the line is read (one fork) only inside a recorded workspace, or to keep a line the
    # user's HISTCONTROL=ignorespace keeps out of the history out of it
    if [[ -n $dir || $__prtrace_hook_user_hc == *ignore[sb]* ]] && __prtrace_hook_took \
        && [[ -n $dir && -n $REPLY ]]; then
        local line=$REPLY t0=$__prtrace_hook_t0 port token fd
        t0=${t0:0:${#t0}-6}.${t0:${#t0}-6}
        # To the session's daemon over loopback, never to disk (recorder/terminal/hook_socket.py);
        # no daemon listening: refused at once, the record is dropped.
        if { builtin read -r port token <"$dir/endpoint" && exec {fd}<>"/dev/tcp/127.0.0.1/$port"; } 2>/dev/null; then
            __prtrace_hook_enc "$__prtrace_hook_cwd"
            builtin printf '%s\n\036%s\t%s\t%s\t%s\n%s\037\n' "$token" "$t0" "$end" "$ec" "$REPLY" "$line" >&$fd
            exec {fd}>&-
        fi
    fi
    __prtrace_hook_arm
    return $ec
}
__prtrace_hook_install
fi
"""
)

ZSH = (
    """# prtrace: record every command of this shell (command, cwd, exit code, duration)
# into the recorded workspace you are in. Add to ~/.zshrc:  eval "$(prtrace hook zsh)"
if [[ -z ${__prtrace_hook_loaded:-} ]]; then
__prtrace_hook_loaded=1
zmodload zsh/datetime
zmodload zsh/net/tcp
"""
    + _FIND
    + """__prtrace_hook_preexec() {
    __prtrace_hook_start=$EPOCHREALTIME
    __prtrace_hook_line=$1
    __prtrace_hook_cwd=$PWD
}
__prtrace_hook_precmd() {
    local ec=$? end=$EPOCHREALTIME
    if [[ -n ${__prtrace_hook_start:-} ]] && __prtrace_hook_dir "$__prtrace_hook_cwd"; then
        local port token fd
        # To the session's daemon over loopback, never to disk (recorder/terminal/hook_socket.py).
        if { builtin read -r port token <"$REPLY/endpoint" && ztcp 127.0.0.1 $port } 2>/dev/null; then
            fd=$REPLY
            __prtrace_hook_enc "$__prtrace_hook_cwd"
            builtin printf '%s\n\036%s\t%s\t%s\t%s\n%s\037\n' "$token" "$__prtrace_hook_start" "$end" \
                "$ec" "$REPLY" "$__prtrace_hook_line" >&$fd
            ztcp -c $fd
        fi
    fi
    __prtrace_hook_start=
}
precmd_functions=(__prtrace_hook_precmd ${precmd_functions[@]})
preexec_functions+=(__prtrace_hook_preexec)
fi
"""
)

FISH = """# prtrace: record every command of this shell (command, cwd, exit code, duration)
# into the recorded workspace you are in. Add to config.fish:  prtrace hook fish | source
function __prtrace_hook_preexec --on-event fish_preexec
    set -g __prtrace_hook_cwd $PWD
end
function __prtrace_hook_postexec --on-event fish_postexec
    set -l ec $status
    set -l started_in $PWD
    set -q __prtrace_hook_cwd; and set started_in $__prtrace_hook_cwd
    set -l d $started_in
    while true
        if test -d $d/.prtrace/hook
            set -l end (date +%s.%N)
            set -l start (math "$end - $CMD_DURATION / 1000")
            set -l cwd (string escape --style=url -- $started_in)
            # fish has no socket builtin: a bash sends the record to the session's daemon
            # (through its stdin, so the command line is never in a process's arguments)
            printf '\\036%s\\t%s\\t%s\\t%s\\n%s\\037\\n' $start $end $ec $cwd "$argv[1]" | command bash -c \\
                '{ read -r port token <"$1/endpoint" && exec 3<>"/dev/tcp/127.0.0.1/$port"; } 2>/dev/null && { printf "%s\\n" "$token"; cat; } >&3' \\
                prtrace-hook $d/.prtrace/hook
            return
        end
        test -z "$d" -o "$d" = / ; and return
        set d (string replace -r '/[^/]*$' '' -- $d)
    end
end
"""

SNIPPETS = {"bash": BASH, "zsh": ZSH, "fish": FISH}


def hook_dir(root: Path, *, create: bool = False) -> Path:
    path = state_dir(root, create=create) / HOOK_DIR
    if create:
        path.mkdir(mode=0o700, exist_ok=True)
    return path


def _float(text: str) -> float:
    return float(text.replace(",", "."))  # EPOCHREALTIME follows the locale's decimal point


def parse_records(data: bytes) -> tuple[list[CommandRecord], int]:
    """Complete records in ``data`` and how many bytes they took."""
    records: list[CommandRecord] = []
    pos = 0
    while True:
        start = data.find(b"\x1e", pos)
        if start < 0:
            return records, pos
        end = data.find(b"\x1f\n", start)
        if end < 0:
            return records, pos
        header, _, command = data[start + 1 : end].decode("utf-8", "replace").partition("\n")
        pos = end + 2
        fields = header.split("\t")
        try:
            t0, t1, code = _float(fields[0]), _float(fields[1]), int(fields[2])
        except (IndexError, ValueError):
            continue
        cwd = unquote(fields[3]) if len(fields) > 3 else None
        command = command.rstrip("\n")
        if command.startswith("\t"):  # bash's `fc -ln`: a tab and a space before the line
            command = command[1:].removeprefix(" ")
        command = command.strip()
        if command:
            records.append(CommandRecord(command, t0, t1, code, cwd))


def _scrub(log: Path, offset: int, length: int) -> None:
    """Overwrite imported records in place (docs/privacy.md): the shell writes raw
    command lines, before any redaction could run; once they are spooled, redacted,
    they must not stay on disk. In place and same size, so the shell's appends
    (O_APPEND) and the cursor stay valid; only bytes before the cursor change."""
    try:
        fd = os.open(log, os.O_WRONLY)
    except OSError:
        return
    try:
        os.pwrite(fd, b"\0" * length, offset)
    finally:
        os.close(fd)


def emit_received(root: Path, emitter: EventEmitter, records: list[CommandRecord]) -> int:
    """Spool records that came over the hook socket (:mod:`prtrace.recorder.terminal.hook_socket`)."""
    for record in records:
        emit_command(emitter, root, record)
    if records:
        emitter.flush()
    return len(records)


def import_logs(root: Path, emitter: EventEmitter) -> int:
    """Spool the complete records appended since the last import; how many commands."""
    folder = hook_dir(root)
    if not folder.is_dir() or emitter.spool is None:
        return 0
    lock_fd = os.open(folder / ".import.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(lock_fd, fcntl.LOCK_EX)
        total = 0
        for log in sorted(folder.glob("*.log")):
            name = _CURSOR + log.name
            offset = int(emitter.spool.cursor(name) or 0)
            try:
                size = log.stat().st_size
            except OSError:
                continue
            if size < offset:
                offset = 0  # the file was replaced
            if size == offset:
                continue
            with open(log, "rb") as f:
                f.seek(offset)
                data = f.read(size - offset)
            records, used = parse_records(data)
            if not used:
                continue
            for record in records:
                emit_command(emitter, root, record)
            emitter.set_cursor(name, str(offset + used))
            emitter.flush()
            _scrub(log, offset, used)
            total += len(records)
        return total
    finally:
        os.close(lock_fd)
