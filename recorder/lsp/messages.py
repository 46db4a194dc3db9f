"""The few LSP shapes the recorder reads, as msgspec Structs.

These mirror lsprotocol's types field for field (same names, same JSON), but
decode with msgspec: lsprotocol's cattrs converter costs tens of microseconds
per message and a quarter of a second to import, which a recorder keeping up
with 100,000 ``didChange``/s cannot pay. Only the fields the recorder uses are
declared; everything else in a message is skipped by the decoder unread.
The envelope keeps ``params``/``result`` as :class:`msgspec.Raw`, so a message
the recorder does not care about costs one shallow scan.

lsprotocol stays the reference: tests/unit/test_lsp_protocol_types.py checks that
every Struct here maps to its lsprotocol type(s), that every field is one of theirs,
and that what lsprotocol's converter writes decodes here to the same values.
(lsprotocol and pygls are test dependencies only: the recorder imports neither.)
"""

from __future__ import annotations

import msgspec
from msgspec import Raw, Struct

_EMPTY = Raw(b"")


class Envelope(Struct):
    """Any JSON-RPC message: request, notification or response."""

    id: int | str | None = None
    method: str | None = None
    params: Raw = _EMPTY
    result: Raw = _EMPTY
    error: Raw = _EMPTY


class Position(Struct):
    line: int
    character: int


class Range(Struct):
    start: Position
    end: Position


class TextDocumentIdentifier(Struct):
    uri: str
    version: int | None = None


class TextDocumentItem(Struct):
    uri: str
    languageId: str = ""
    version: int | None = None
    text: str = ""


class DidOpenParams(Struct):
    textDocument: TextDocumentItem


class ContentChange(Struct):
    text: str
    range: Range | None = None


class DidChangeParams(Struct):
    textDocument: TextDocumentIdentifier
    contentChanges: list[ContentChange]


class DidSaveParams(Struct):
    textDocument: TextDocumentIdentifier
    text: str | None = None


class DidCloseParams(Struct):
    textDocument: TextDocumentIdentifier


class PositionParams(Struct):
    """TextDocumentPositionParams, and what extends it (references, rename)."""

    textDocument: TextDocumentIdentifier
    position: Position
    newName: str | None = None


class LocationLike(Struct):
    """A Location (``uri``/``range``) or a LocationLink (``target…``)."""

    uri: str | None = None
    range: Range | None = None
    targetUri: str | None = None
    targetRange: Range | None = None
    targetSelectionRange: Range | None = None


LocationResult = LocationLike | list[LocationLike] | None


class Diagnostic(Struct):
    range: Range
    message: str = ""
    severity: int | None = None
    source: str | None = None
    code: int | str | None = None


class PublishDiagnosticsParams(Struct):
    uri: str
    diagnostics: list[Diagnostic]


class DocumentDiagnosticReport(Struct):
    """The answer to a ``textDocument/diagnostic`` pull (full reports only)."""

    kind: str = ""
    items: list[Diagnostic] = msgspec.field(default_factory=list)


class TextEdit(Struct):
    range: Range


class DocumentChange(Struct):
    """A TextDocumentEdit or a create/rename/delete file operation."""

    textDocument: TextDocumentIdentifier | None = None
    edits: list[TextEdit] = msgspec.field(default_factory=list)
    kind: str | None = None
    uri: str | None = None
    newUri: str | None = None


class WorkspaceEdit(Struct):
    changes: dict[str, list[TextEdit]] | None = None
    documentChanges: list[DocumentChange] | None = None


class Command(Struct):
    title: str = ""
    command: str = ""


class CodeActionLike(Struct):
    """A CodeAction, or a bare Command (whose ``command`` is then a string)."""

    title: str = ""
    kind: str | None = None
    command: Command | str | None = None
    edit: WorkspaceEdit | None = None


class ExecuteCommandParams(Struct):
    command: str


class WorkspaceFolder(Struct):
    uri: str
    name: str = ""


class InitializeParams(Struct):
    rootUri: str | None = None
    rootPath: str | None = None
    workspaceFolders: list[WorkspaceFolder] | None = None


class ServerCapabilities(Struct):
    positionEncoding: str | None = None


class InitializeResult(Struct):
    capabilities: ServerCapabilities | None = None
