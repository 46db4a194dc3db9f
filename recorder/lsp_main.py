"""``prtrace lsp -- SERVER CMD…``: the proxy, its recording thread and its uploader.

Three parts, each on its own thread, joined only by a queue of byte chunks:

* the :class:`~recorder.lsp_proxy.Proxy` pumps (forwarding, nothing else);
* the recording thread: :class:`~recorder.lsp_recorder.LspRecorder` turns the
  chunks into events, the :class:`~recorder.emitter.EventEmitter` spools them
  whenever the thread has caught up with the stream;
* the :class:`~recorder.uploader.BackgroundUploader`, started once the
  workspace is known (from ``initialize``), sends the spool when there is a
  session.

When the server exits, the recording thread finishes what is queued (ending
any edit burst), spools it, and one last upload round runs with a short
deadline. Whatever it cannot send waits in the spool for the next process.
"""

from __future__ import annotations

import queue
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from recorder.lsp_proxy import Proxy

QUIET_TICK = 0.25
"""How often an idle recording thread checks whether an edit burst has ended."""
DRAIN_ON_EXIT = 3.0
"""Seconds the exiting proxy spends trying to upload what is left."""


class RecordingThread(threading.Thread):
    def __init__(self, idle_gap: float | None = None) -> None:
        super().__init__(name="prtrace-record", daemon=True)
        self.queue: queue.SimpleQueue = queue.SimpleQueue()
        self.idle_gap = idle_gap
        self.root: Path | None = None
        self.uploader = None
        self.upload = True

    def _on_root(self, root: Path) -> None:
        from recorder.spool import Spool
        from recorder.uploader import BackgroundUploader

        self.root = root
        self.emitter.attach(Spool.for_workspace(root))
        if self.upload:
            self.uploader = BackgroundUploader(root).start()

    def run(self) -> None:
        from recorder.emitter import EventEmitter
        from recorder.lsp_recorder import IDLE_GAP, LspRecorder

        self.emitter = EventEmitter(source="lsp")
        recorder = LspRecorder(
            self.emitter,
            idle_gap=IDLE_GAP if self.idle_gap is None else self.idle_gap,
            on_root=self._on_root,
        )
        get = self.queue.get
        while True:
            try:
                item = get(timeout=QUIET_TICK)
            except queue.Empty:
                self._guard(recorder.tick, time.time())
                self._guard(self.emitter.flush)
                continue
            if item is None:
                break
            self._guard(recorder.feed, *item)
            if self.queue.empty():
                self._guard(self.emitter.flush)
        self._guard(recorder.close)
        self._guard(self.emitter.flush)
        self.recorder = recorder

    @staticmethod
    def _guard(fn, *args) -> None:  # type: ignore[no-untyped-def]
        """Recording must never take the proxy down: report and go on."""
        try:
            fn(*args)
        except Exception as exc:
            sys.stderr.write(f"prtrace lsp: recording error: {exc!r}\n")


def run_lsp(argv: Sequence[str], *, upload: bool = True, idle_gap: float | None = None) -> int:
    """Proxy ``argv`` on stdin/stdout, recording beside it; returns the server's exit code."""
    recording = RecordingThread(idle_gap)
    recording.upload = upload
    recording.start()
    proxy = Proxy(argv, tap=recording.queue.put)
    try:
        code = proxy.run()
    finally:
        recording.queue.put(None)
        recording.join(30)
    if recording.uploader is not None:
        recording.uploader.stop()
        _last_round(recording.root)
    return code


def _last_round(root: Path | None) -> None:
    """Try once, briefly, to upload what this process recorded last."""
    if root is None:
        return
    from recorder.uploader import Uploader

    uploader = Uploader(root, timeout=DRAIN_ON_EXIT)
    try:
        uploader.drain(lock_timeout=0.5, deadline=time.monotonic() + DRAIN_ON_EXIT)
    except Exception as exc:
        sys.stderr.write(f"prtrace lsp: final upload failed: {exc!r}\n")
    finally:
        uploader.close()
