"""From LSP messages to trace events: the recording side of the proxy.

:class:`LspRecorder` is fed the *copies* of both byte streams (``c2s`` editor →
server, ``s2c`` server → editor), with the wall-clock time each chunk passed
the proxy. It frames them, decodes the messages it cares about and keeps the
state the events need: the negotiated position encoding, each open document's
text, the edit burst in progress, the requests waiting for their answers (to
pair a ``textDocument/definition`` with its result and measure the latency),
and each file's last diagnostic counts. It runs on its own thread and never
touches the forwarding path, so it may fall behind during a burst and catch up
afterwards; its times are the times the bytes passed, not the times it got to
them.

Which message makes which event:

==================================  ==========================================
``initialize`` (+ its result)       workspace root, position encoding
``textDocument/didOpen``            ``file_opened``
``textDocument/didChange``          ``edit`` (one per burst, see ``edits.py``)
``textDocument/didSave``            ``file_saved`` (after the burst's edit)
``textDocument/didClose``           ``file_closed``
``textDocument/definition`` & co.   ``go_to_definition`` when the answer comes
``textDocument/references``         ``find_references`` when the answer comes
``textDocument/rename``             ``rename`` when the answer comes
``codeAction/resolve``,             ``code_action`` (an action the user picked)
``workspace/executeCommand``
``textDocument/publishDiagnostics`` ``diagnostics`` when the counts change
``textDocument/diagnostic`` (pull)  likewise
==================================  ==========================================
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec

from prtrace import events as ev
from prtrace.hashing import text_hash
from prtrace.recorder.lsp import messages as m
from prtrace.recorder.lsp.documents import Document
from prtrace.recorder.lsp.edits import Burst, summarize
from prtrace.recorder.lsp.framing import MessageFramer
from prtrace.recorder.lsp.positions import (
    DEFAULT_ENCODING,
    TRACE_ENCODING,
    Encoding,
    char_index,
    encoded_length,
    negotiated,
    split_lines,
    to_trace_character,
)
from prtrace.recorder.pipeline.emitter import EventEmitter
from prtrace.recorder.pipeline.provenance import HUMAN
from prtrace.recorder.session.workspace import PathMapper, find_root, uri_to_path

IDLE_GAP = 1.5
"""Seconds without a change that end an edit burst."""
MAX_DIAGNOSTIC_ITEMS = 100
EARLY_ANSWERS = 64

NAVIGATION = {
    "textDocument/definition": "definition",
    "textDocument/declaration": "declaration",
    "textDocument/typeDefinition": "typeDefinition",
    "textDocument/implementation": "implementation",
}
_POSITIONAL = {*NAVIGATION, "textDocument/references", "textDocument/rename"}
"""Requests at the cursor: they end an edit burst and remember the symbol there."""
SEVERITIES = {1: "error", 2: "warning", 3: "information", 4: "hint"}
_WORD = re.compile(r"\w+")

_envelope = msgspec.json.Decoder(m.Envelope)


_DECODERS: dict[Any, msgspec.json.Decoder] = {}


def decode(raw: msgspec.Raw, typ: Any) -> Any:
    dec = _DECODERS.get(typ)
    if dec is None:
        dec = _DECODERS[typ] = msgspec.json.Decoder(typ)
    return dec.decode(raw)


@dataclass(slots=True)
class Pending:
    """A request waiting for its answer, with what the event will need."""

    method: str
    t: float
    path: str | None = None
    symbol: str | None = None
    range: ev.Range | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def _range(r: m.Range) -> ev.Range:
    return ev.Range(
        start=ev.Position(line=max(r.start.line, 0), character=max(r.start.character, 0)),
        end=ev.Position(line=max(r.end.line, 0), character=max(r.end.character, 0)),
    )


class LspRecorder:
    def __init__(
        self,
        emitter: EventEmitter,
        *,
        root: Path | None = None,
        idle_gap: float = IDLE_GAP,
        on_root: Callable[[Path], None] | None = None,
    ) -> None:
        self.emitter = emitter
        self.idle_gap = idle_gap
        self.on_root = on_root
        self.root: Path | None = None
        self.paths: PathMapper | None = None
        self.encoding: Encoding = DEFAULT_ENCODING
        self.docs: dict[str, Document] = {}
        self._disk_lines: dict[str, list[str] | None] = {}
        self.burst: Burst | None = None
        self.pending: dict[tuple[str, Any], Pending] = {}
        self.diagnostic_counts: dict[str, tuple[int, int, int, int]] = {}
        self.commands: dict[str, tuple[str, str | None, str]] = {}
        """Commands offered by recent code actions: command → (title, kind, path)."""
        self.early: dict[tuple[str, Any], tuple[float, m.Envelope]] = {}
        """Answers whose request has not been seen yet (see lsp_proxy.Tap)."""
        self.framers = {"c2s": MessageFramer(), "s2c": MessageFramer()}
        self.messages = 0
        self.errors = 0
        if root is not None:
            self._set_root(root)

    # --- input --------------------------------------------------------------

    def feed(self, direction: str, t: float, data: bytes) -> None:
        """Take a chunk of one stream; record what the messages it completes mean."""
        for body in self.framers[direction].feed(data):
            self.messages += 1
            try:
                self.handle(direction, t, body)
            except (msgspec.MsgspecError, ValueError, KeyError, IndexError, TypeError) as exc:
                self._error(exc)

    def handle(self, direction: str, t: float, body: bytes) -> None:
        msg = _envelope.decode(body)
        if self.burst is not None and t - self.burst.last_t >= self.idle_gap:
            self.end_burst()
        method = msg.method
        if method is not None:
            if msg.id is not None:
                self._request(direction, t, msg.id, method, msg.params)
            else:
                handler = _NOTIFICATIONS.get(method)
                if handler is not None and msg.params:
                    handler(self, t, msg.params)
        elif msg.id is not None:
            asker = "s2c" if direction == "c2s" else "c2s"
            pending = self.pending.pop((asker, msg.id), None)
            if pending is None:
                # The copy of the answer overtook the copy of its request: hold it.
                # Only the last few matter (the request is at most a chunk or two behind);
                # answers to requests nobody records age out here.
                self.early[(asker, msg.id)] = (t, msg)
                if len(self.early) > EARLY_ANSWERS:
                    del self.early[next(iter(self.early))]
            else:
                self._respond(t, pending, msg)

    def _respond(self, t: float, pending: Pending, msg: m.Envelope) -> None:
        if msg.result and not msg.error:
            handler = _RESPONSES.get(pending.method)
            if handler is not None:
                handler(self, t, pending, msg.result)

    def _expect(self, key: tuple[str, Any], pending: Pending) -> None:
        """Wait for the answer to a request (or take it, if it came first)."""
        early = self.early.pop(key, None)
        if early is None:
            self.pending[key] = pending
        else:
            self._respond(early[0], pending, early[1])

    @property
    def editing(self) -> str | None:
        """The path whose edit burst is open (changed, but not yet an ``edit``)."""
        burst = self.burst
        doc = None if burst is None else self.docs.get(burst.uri)
        return None if doc is None else doc.path

    def tick(self, now: float) -> None:
        """Called when the stream is quiet: end a burst that has gone idle."""
        if self.burst is not None and now - self.burst.last_t >= self.idle_gap:
            self.end_burst()

    def close(self) -> None:
        """The session is over: whatever is in progress becomes an event now."""
        self.end_burst()
        if self.root is None and self.emitter.pending:
            self._set_root(find_root())  # events without an initialize: spool them somewhere

    def _error(self, exc: Exception) -> None:
        self.errors += 1
        if self.errors <= 5:
            sys.stderr.write(f"prtrace lsp: could not record a message: {exc!r}\n")

    # --- workspace and documents ----------------------------------------------

    def _set_root(self, root: Path) -> None:
        self.root = root
        self.paths = PathMapper(root)
        if self.on_root is not None:
            self.on_root(root)

    def path(self, uri: str) -> str | None:
        if self.paths is None:
            self._set_root(find_root())
        assert self.paths is not None
        return self.paths.path(uri)

    def _redact(self, text: str) -> str:
        """A document's text as it is recorded (recorder/pipeline/privacy.py); cached per text."""
        privacy = self.emitter.privacy
        return text if privacy is None else privacy.document(text)

    def end_burst(self) -> None:
        burst, self.burst = self.burst, None
        if burst is None:
            return
        doc = self.docs.get(burst.uri)
        if doc is None:
            return
        # Diff and hash the *redacted* texts: redaction is deterministic, so this
        # burst's after_hash is the next one's before_hash and replay reproduces
        # the redacted text exactly (docs/privacy.md).
        redact = self._redact
        summary = summarize(redact(burst.before), redact(doc.text), doc.path, TRACE_ENCODING)
        if summary is None:
            return
        self.emitter.emit(
            ev.Edit,
            burst.last_t,
            path=doc.path,
            op=summary.op,
            patch_unified=summary.patch,
            before_hash=summary.before_hash,
            after_hash=summary.after_hash,
            range=ev.Range(
                start=ev.Position(line=summary.start[0], character=summary.start[1]),
                end=ev.Position(line=summary.end[0], character=summary.end[1]),
            ),
            changes=burst.changes,
            version=burst.version,
            author=HUMAN,
        )

    def _symbol_at(self, uri: str, pos: m.Position) -> tuple[str | None, ev.Range]:
        """The word under the cursor and its range (the cursor alone if no word), in
        the trace's encoding (UTF-16), whatever was negotiated."""
        point = ev.Position(line=max(pos.line, 0), character=max(pos.character, 0))
        doc = self.docs.get(uri)
        if doc is None or not 0 <= pos.line < len(doc.lines):
            return None, ev.Range(start=point, end=point)
        line = doc.lines[pos.line]
        idx = char_index(line, pos.character, self.encoding)
        point = ev.Position(line=point.line, character=encoded_length(line[:idx], TRACE_ENCODING))
        for match in _WORD.finditer(line):
            if match.start() <= idx <= match.end():
                start = encoded_length(line[: match.start()], TRACE_ENCODING)
                end = start + encoded_length(match.group(), TRACE_ENCODING)
                return match.group(), ev.Range(
                    start=ev.Position(line=pos.line, character=start),
                    end=ev.Position(line=pos.line, character=end),
                )
            if match.start() > idx:
                break
        return None, ev.Range(start=point, end=point)

    def _location(self, loc: m.LocationLike) -> ev.Location | None:
        uri = loc.targetUri or loc.uri
        rng = loc.targetSelectionRange or loc.targetRange or loc.range
        if not uri:
            return None
        path = self.path(uri) or uri
        if rng is None:
            return ev.Location(path=path, line=1)
        return ev.Location(
            path=path, line=max(rng.start.line, 0) + 1, range=self._trace_range(rng, uri)
        )

    def _trace_range(self, r: m.Range, uri: str) -> ev.Range:
        """A range the server sent (negotiated encoding) in the trace's encoding (UTF-16).

        The lines come from the open document, else from the file on disk (read
        only when the encoding differs and then cached), else stay as they are.
        """
        if self.encoding == TRACE_ENCODING:
            return _range(r)
        lines = self._lines(uri)

        def convert(p: m.Position) -> ev.Position:
            line = lines[p.line] if lines is not None and 0 <= p.line < len(lines) else None
            return ev.Position(
                line=max(p.line, 0), character=to_trace_character(line, p.character, self.encoding)
            )

        return ev.Range(start=convert(r.start), end=convert(r.end))

    def _lines(self, uri: str) -> list[str] | None:
        doc = self.docs.get(uri)
        if doc is not None:
            return doc.lines
        if uri not in self._disk_lines:
            file = uri_to_path(uri)
            try:
                text = file.read_text("utf-8", "replace") if file is not None else None
            except OSError:
                text = None
            if len(self._disk_lines) > 256:
                self._disk_lines.clear()
            self._disk_lines[uri] = None if text is None else split_lines(text)
        return self._disk_lines[uri]

    def _locations(self, raw: msgspec.Raw) -> list[ev.Location]:
        result = decode(raw, m.LocationResult)
        items = [] if result is None else result if isinstance(result, list) else [result]
        return [loc for loc in map(self._location, items) if loc is not None]

    def _edit_files(self, edit: m.WorkspaceEdit | None) -> tuple[list[str], int]:
        """Files a WorkspaceEdit touches (in order, once each) and its number of text edits."""
        files: dict[str, None] = {}
        count = 0
        if edit is None:
            return [], 0
        for uri, edits in (edit.changes or {}).items():
            files[self.path(uri) or uri] = None
            count += len(edits)
        for change in edit.documentChanges or ():
            doc_uri = (
                change.textDocument.uri if change.textDocument else change.uri or change.newUri
            )
            if doc_uri:
                files[self.path(doc_uri) or doc_uri] = None
            count += len(change.edits)
        return list(files), count

    # --- requests -----------------------------------------------------------

    def _request(
        self, direction: str, t: float, msg_id: Any, method: str, params: msgspec.Raw
    ) -> None:
        if method == "initialize":
            self._initialize(params)
            self._expect((direction, msg_id), Pending(method, t))
        elif method in _POSITIONAL:
            p = decode(params, m.PositionParams)
            path = self.path(p.textDocument.uri)
            if path is not None:
                self.end_burst()  # navigation ends a burst: the edit comes first
                symbol, rng = self._symbol_at(p.textDocument.uri, p.position)
                extra = {"new_name": p.newName}
                self._expect((direction, msg_id), Pending(method, t, path, symbol, rng, extra))
        elif method in ("textDocument/codeAction", "textDocument/diagnostic"):
            uri = decode(params, m.DidCloseParams).textDocument.uri
            path = self.path(uri)
            if path is not None:
                self._expect((direction, msg_id), Pending(method, t, path, extra={"uri": uri}))
        elif method == "codeAction/resolve":
            action = decode(params, m.CodeActionLike)
            self._expect((direction, msg_id), Pending(method, t, extra={"action": action}))
        elif method == "workspace/executeCommand":
            command = decode(params, m.ExecuteCommandParams).command
            offered = self.commands.get(command)
            if offered is not None:
                title, kind, path = offered
                self.end_burst()
                self.emitter.emit(ev.CodeAction, t, path=path, title=title, kind=kind)

    def _initialize(self, params: msgspec.Raw) -> None:
        init = decode(params, m.InitializeParams)
        if self.root is not None:
            return
        start: Path | None = None
        if init.rootUri:
            start = uri_to_path(init.rootUri)
        if start is None and init.rootPath:
            start = Path(init.rootPath)
        if start is None and init.workspaceFolders:
            start = uri_to_path(init.workspaceFolders[0].uri)
        self._set_root(find_root(start))

    # --- responses ----------------------------------------------------------

    def _initialized(self, t: float, pending: Pending, result: msgspec.Raw) -> None:
        init = decode(result, m.InitializeResult)
        chosen = init.capabilities.positionEncoding if init.capabilities else None
        self.encoding = negotiated(chosen)

    def _navigated(self, t: float, pending: Pending, result: msgspec.Raw) -> None:
        assert pending.path is not None
        self.emitter.emit(
            ev.GoToDefinition,
            t,
            path=pending.path,
            symbol=pending.symbol,
            range=pending.range,
            kind=NAVIGATION[pending.method],
            targets=self._locations(result),
            latency_ms=round((t - pending.t) * 1000, 3),
        )

    def _referenced(self, t: float, pending: Pending, result: msgspec.Raw) -> None:
        assert pending.path is not None
        targets = self._locations(result)
        self.emitter.emit(
            ev.FindReferences,
            t,
            path=pending.path,
            symbol=pending.symbol,
            range=pending.range,
            count=len(targets),
            files=list(dict.fromkeys(loc.path for loc in targets)),
            targets=targets,
            latency_ms=round((t - pending.t) * 1000, 3),
        )

    def _renamed(self, t: float, pending: Pending, result: msgspec.Raw) -> None:
        assert pending.path is not None
        files, edits = self._edit_files(decode(result, m.WorkspaceEdit | None))
        self.emitter.emit(
            ev.Rename,
            t,
            path=pending.path,
            new_name=pending.extra.get("new_name") or "",
            symbol=pending.symbol,
            range=pending.range,
            files=files,
            edits=edits,
        )

    def _actions_offered(self, t: float, pending: Pending, result: msgspec.Raw) -> None:
        """Remember the commands behind offered actions, to know one when it runs."""
        actions = decode(result, list[m.CodeActionLike] | None) or []
        for action in actions:
            command = action.command
            name = command if isinstance(command, str) else command.command if command else None
            if name:
                if len(self.commands) > 1000:
                    self.commands.clear()
                self.commands[name] = (action.title, action.kind, pending.path or "")

    def _action_resolved(self, t: float, pending: Pending, result: msgspec.Raw) -> None:
        action = decode(result, m.CodeActionLike)
        asked: m.CodeActionLike = pending.extra["action"]
        files, _ = self._edit_files(action.edit)
        path = files[0] if files else None
        command = action.command
        if path is None and command is not None:
            name = command if isinstance(command, str) else command.command
            path = self.commands.get(name, ("", None, None))[2]
        if not path:
            return
        self.end_burst()
        self.emitter.emit(
            ev.CodeAction,
            t,
            path=path,
            title=action.title or asked.title,
            kind=action.kind or asked.kind,
            files=files,
        )

    def _pulled_diagnostics(self, t: float, pending: Pending, result: msgspec.Raw) -> None:
        report = decode(result, m.DocumentDiagnosticReport)
        if report.kind == "full" and pending.path is not None:
            self._diagnostics(t, pending.path, report.items, pending.extra.get("uri"))

    # --- notifications ----------------------------------------------------------

    def _did_open(self, t: float, params: msgspec.Raw) -> None:
        item = decode(params, m.DidOpenParams).textDocument
        path = self.path(item.uri)
        if path is None:
            return
        self.end_burst()
        doc = Document.opened(item.uri, path, item.languageId or None, item.version, item.text)
        self.docs[item.uri] = doc
        self.emitter.emit(
            ev.FileOpened,
            t,
            path=path,
            language=doc.language,
            version=doc.version,
            hash=text_hash(self._redact(item.text)),
            size=len(item.text.encode("utf-8", "surrogatepass")),
        )

    def _did_change(self, t: float, params: msgspec.Raw) -> None:
        change = decode(params, m.DidChangeParams)
        uri = change.textDocument.uri
        doc = self.docs.get(uri)
        if doc is None:
            return
        burst = self.burst
        if burst is not None and burst.uri != uri:
            self.end_burst()
            burst = None
        if burst is None:
            burst = self.burst = Burst(uri, doc.text, t, t)
        encoding = self.encoding
        for c in change.contentChanges:
            if c.range is None:
                doc.replace_all(c.text)
            else:
                s, e = c.range.start, c.range.end
                doc.apply((s.line, s.character), (e.line, e.character), c.text, encoding)
        burst.changes += len(change.contentChanges) or 1
        burst.last_t = t
        burst.version = doc.version = change.textDocument.version

    def _did_save(self, t: float, params: msgspec.Raw) -> None:
        saved = decode(params, m.DidSaveParams)
        doc = self.docs.get(saved.textDocument.uri)
        if doc is None:
            return
        if saved.text is not None and saved.text != doc.text:
            # The editor says the file is not what we replayed: record the difference
            # as an edit so that every after_hash still leads to the next before_hash.
            if self.burst is None or self.burst.uri != doc.uri:
                self.end_burst()
                self.burst = Burst(doc.uri, doc.text, t, t)
            doc.replace_all(saved.text)
            self.burst.changes += 1
            self.burst.last_t = t
        self.end_burst()
        self.emitter.emit(ev.FileSaved, t, path=doc.path, hash=text_hash(self._redact(doc.text)))

    def _did_close(self, t: float, params: msgspec.Raw) -> None:
        uri = decode(params, m.DidCloseParams).textDocument.uri
        if uri not in self.docs:
            return
        if self.burst is not None and self.burst.uri == uri:
            self.end_burst()
        doc = self.docs.pop(uri)
        self.emitter.emit(ev.FileClosed, t, path=doc.path)

    def _published(self, t: float, params: msgspec.Raw) -> None:
        published = decode(params, m.PublishDiagnosticsParams)
        path = self.path(published.uri)
        if path is not None:
            self._diagnostics(t, path, published.diagnostics, published.uri)

    def _diagnostics(
        self, t: float, path: str, items: list[m.Diagnostic], uri: str | None = None
    ) -> None:
        counts = [0, 0, 0, 0]
        for item in items:
            counts[(item.severity or 1) - 1 if item.severity in (1, 2, 3, 4) else 0] += 1
        previous = self.diagnostic_counts.get(path, (0, 0, 0, 0))
        self.diagnostic_counts[path] = tuple(counts)  # type: ignore[assignment]
        if (counts[0], counts[1]) == previous[:2]:
            return
        self.emitter.emit(
            ev.Diagnostics,
            t,
            path=path,
            errors=counts[0],
            warnings=counts[1],
            information=counts[2],
            hints=counts[3],
            items=[
                ev.DiagnosticItem(
                    range=_range(item.range) if uri is None else self._trace_range(item.range, uri),
                    severity=SEVERITIES.get(item.severity or 1, "error"),  # type: ignore[arg-type]
                    message=item.message,
                    source=item.source,
                    code=None if item.code is None else str(item.code),
                )
                for item in items[:MAX_DIAGNOSTIC_ITEMS]
            ],
        )


_NOTIFICATIONS: dict[str, Callable[[LspRecorder, float, msgspec.Raw], None]] = {
    "textDocument/didOpen": LspRecorder._did_open,
    "textDocument/didChange": LspRecorder._did_change,
    "textDocument/didSave": LspRecorder._did_save,
    "textDocument/didClose": LspRecorder._did_close,
    "textDocument/publishDiagnostics": LspRecorder._published,
}
_RESPONSES: dict[str, Callable[[LspRecorder, float, Pending, msgspec.Raw], None]] = {
    "initialize": LspRecorder._initialized,
    **dict.fromkeys(NAVIGATION, LspRecorder._navigated),
    "textDocument/references": LspRecorder._referenced,
    "textDocument/rename": LspRecorder._renamed,
    "textDocument/codeAction": LspRecorder._actions_offered,
    "codeAction/resolve": LspRecorder._action_resolved,
    "textDocument/diagnostic": LspRecorder._pulled_diagnostics,
}
