"""``prtrace run -- CMD…``: one command, its stdout and stderr recorded apart.

Unlike ``prtrace shell`` (one PTY, so one merged stream), the command gets
pipes: each stream is copied to our own stdout/stderr as it comes (tee) and
kept, cleaned of escape sequences, for the ``terminal_command`` event
(``stdout``, ``stderr``, ``output_merged: false``). The command's exit code is
ours (128+N if a signal ended it). A Ctrl-C reaches the command (same process
group); we ignore it ourselves so the command's end is still recorded.
While it runs, the spool says so (an activity, :mod:`prtrace.recorder.pipeline.provenance`),
so the file watcher records the files it changes with ``author: command`` and the
command's event id, reserved before it starts.
"""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import IO

from prtrace.recorder.pipeline.spool import Spool
from prtrace.recorder.terminal.ansi import TextCleaner
from prtrace.recorder.terminal.commands import (
    CommandRecord,
    SpillingOutput,
    emit_command,
    output_redactor,
    outputs_dir,
)

UPLOAD_DEADLINE = 3.0


def _tee(source: IO[bytes], fd: int, output: SpillingOutput) -> None:
    cleaner = TextCleaner()
    read = source.read1 if hasattr(source, "read1") else source.read
    alive = True
    while True:
        data = read(65536)
        if not data:
            break
        if alive:
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view) :]
            except OSError:
                alive = False  # our terminal went away: keep recording
        output.write(cleaner.feed(data))
    output.write(cleaner.feed(b"", final=True))
    output.close()


def run_command(root: Path, argv: list[str], *, upload: bool = True) -> int:
    from prtrace import events as ev
    from prtrace.recorder.pipeline import provenance
    from prtrace.recorder.pipeline.emitter import EventEmitter

    emitter = EventEmitter(source="run")
    emitter.attach_workspace(root)  # no spool unless the workspace records (docs/privacy.md)
    event_id = emitter.reserve_id()
    start = time.time()
    activity = None
    if emitter.privacy is not None and emitter.privacy.recording():
        # Files changed while the command runs are the command's (docs/recorder.md).
        try:
            activity = Spool.for_workspace(root)
            provenance.begin(activity, event_id, ev.Author(kind="command"), start, pid=os.getpid())
        except Exception:  # noqa: BLE001 - fail open: the command runs whatever the spool does
            activity = None
    cwd = os.getcwd()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        tag = f".run-{os.getpid()}"
        redact = output_redactor(root)
        streams = {
            "stdout": SpillingOutput(outputs_dir(root) / f"{tag}.stdout.txt", redact),
            "stderr": SpillingOutput(outputs_dir(root) / f"{tag}.stderr.txt", redact),
        }
        threads = [
            threading.Thread(target=_tee, args=(proc.stdout, 1, streams["stdout"]), daemon=True),
            threading.Thread(target=_tee, args=(proc.stderr, 2, streams["stderr"]), daemon=True),
        ]
        for thread in threads:
            thread.start()
        code = proc.wait()
        for thread in threads:
            thread.join()
    finally:
        signal.signal(signal.SIGINT, previous)
    end = time.time()
    exit_code = code if code >= 0 else 128 - code
    if activity is not None:
        try:
            provenance.end(activity, event_id, end)
        finally:
            activity.close()
    try:
        event = emit_command(
            emitter,
            root,
            CommandRecord(
                cmdline=shlex.join(argv),
                start=start,
                end=end,
                exit_code=exit_code,
                cwd=cwd,
                stdout=streams["stdout"],
                stderr=streams["stderr"],
                args=list(argv),
            ),
            event_id=event_id,
        )
        emitter.flush()
    finally:
        if emitter.spool is not None:
            emitter.spool.close()
    for name, output in streams.items():
        if output.kept is not None:
            os.replace(output.kept, output.kept.with_name(f"{event.id}.{name}.txt"))
    if upload:
        _upload(root)
    return exit_code


def _upload(root: Path) -> None:
    """A brief try (like ``prtrace note``); the session's daemon sends it otherwise."""
    from prtrace.recorder.pipeline.uploader import Uploader
    from prtrace.recorder.session.state import load_session

    if load_session(root) is None:
        return
    uploader = Uploader(root, timeout=UPLOAD_DEADLINE)
    try:
        uploader.drain(deadline=time.monotonic() + UPLOAD_DEADLINE)
    except Exception:  # noqa: BLE001 - the daemon retries
        pass
    finally:
        uploader.close()
