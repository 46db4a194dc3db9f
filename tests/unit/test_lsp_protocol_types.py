"""The recorder's LSP shapes (``prtrace.recorder.lsp.messages``) against lsprotocol.

The recorder decodes LSP messages with its own msgspec Structs because
lsprotocol's cattrs converter is ten times slower per message (docs/recorder.md);
those Structs promise to mirror lsprotocol's types field for field, with the same
JSON. lsprotocol is the reference here: every field the recorder declares is a
field of the lsprotocol type(s) it stands for, and messages that lsprotocol's own
converter writes decode into the recorder's Structs with the same values.
"""

from __future__ import annotations

from typing import Any

import attrs
import msgspec
import pytest
from lsprotocol import types as t
from lsprotocol.converters import get_converter

from prtrace.recorder.lsp import messages as m

MIRRORS: dict[type, tuple[type, ...]] = {
    m.Position: (t.Position,),
    m.Range: (t.Range,),
    m.TextDocumentIdentifier: (
        t.TextDocumentIdentifier,
        t.VersionedTextDocumentIdentifier,
        t.OptionalVersionedTextDocumentIdentifier,
    ),
    m.TextDocumentItem: (t.TextDocumentItem,),
    m.DidOpenParams: (t.DidOpenTextDocumentParams,),
    m.ContentChange: (t.TextDocumentContentChangePartial, t.TextDocumentContentChangeWholeDocument),
    m.DidChangeParams: (t.DidChangeTextDocumentParams,),
    m.DidSaveParams: (t.DidSaveTextDocumentParams,),
    m.DidCloseParams: (t.DidCloseTextDocumentParams,),
    m.PositionParams: (t.TextDocumentPositionParams, t.ReferenceParams, t.RenameParams),
    m.LocationLike: (t.Location, t.LocationLink),
    m.Diagnostic: (t.Diagnostic,),
    m.PublishDiagnosticsParams: (t.PublishDiagnosticsParams,),
    m.DocumentDiagnosticReport: (
        t.RelatedFullDocumentDiagnosticReport,
        t.RelatedUnchangedDocumentDiagnosticReport,
    ),
    m.TextEdit: (t.TextEdit,),
    m.DocumentChange: (t.TextDocumentEdit, t.CreateFile, t.RenameFile, t.DeleteFile),
    m.WorkspaceEdit: (t.WorkspaceEdit,),
    m.Command: (t.Command,),
    m.CodeActionLike: (t.CodeAction, t.Command),
    m.ExecuteCommandParams: (t.ExecuteCommandParams,),
    m.WorkspaceFolder: (t.WorkspaceFolder,),
    m.InitializeParams: (t.InitializeParams,),
    m.ServerCapabilities: (t.ServerCapabilities,),
    m.InitializeResult: (t.InitializeResult,),
}
"""Each recorder Struct and the lsprotocol type(s) it decodes."""

JSON_RPC_ONLY = {m.Envelope}
"""The JSON-RPC envelope is the base protocol's, not an LSP type."""


def _json_name(python_name: str) -> str:
    first, *rest = python_name.rstrip("_").split("_")
    return first + "".join(part.title() for part in rest)


def _json_fields(cls: type) -> set[str]:
    return {_json_name(field.name) for field in attrs.fields(cls)}


def test_every_struct_of_the_recorder_has_its_lsprotocol_type():
    structs = {
        value
        for value in vars(m).values()
        if isinstance(value, type)
        and issubclass(value, msgspec.Struct)
        and value.__module__ == m.__name__
    }
    assert structs - JSON_RPC_ONLY == set(MIRRORS)


@pytest.mark.parametrize("struct", list(MIRRORS), ids=lambda s: s.__name__)
def test_every_field_is_lsprotocols(struct):
    theirs = set().union(*(_json_fields(cls) for cls in MIRRORS[struct]))
    assert set(struct.__struct_fields__) <= theirs, set(struct.__struct_fields__) - theirs


def _agrees(ours: Any, theirs: Any, where: str = "") -> None:
    """Every value the recorder decoded is the one lsprotocol wrote (fields it does not
    declare are skipped, as its decoder skips them)."""
    if isinstance(ours, dict):
        assert isinstance(theirs, dict), where
        for key, value in ours.items():
            if value is None or value == [] or (value == "" and key not in theirs):
                assert theirs.get(key) in (None, [], ""), f"{where}.{key}"
                continue
            assert key in theirs, f"{where}.{key}"
            _agrees(value, theirs[key], f"{where}.{key}")
    elif isinstance(ours, list):
        assert isinstance(theirs, list) and len(ours) == len(theirs), where
        for i, (a, b) in enumerate(zip(ours, theirs, strict=True)):
            _agrees(a, b, f"{where}[{i}]")
    else:
        assert ours == theirs, where


def _range(a: int, b: int, c: int, d: int) -> t.Range:
    return t.Range(start=t.Position(line=a, character=b), end=t.Position(line=c, character=d))


URI = "file:///ws/main.py"
MESSAGES: list[tuple[Any, Any]] = [
    (
        t.DidOpenTextDocumentParams(
            text_document=t.TextDocumentItem(
                uri=URI, language_id="python", version=1, text="print(1)\n"
            )
        ),
        m.DidOpenParams,
    ),
    (
        t.DidChangeTextDocumentParams(
            text_document=t.VersionedTextDocumentIdentifier(uri=URI, version=2),
            content_changes=[
                t.TextDocumentContentChangePartial(range=_range(0, 6, 0, 7), text="2"),
                t.TextDocumentContentChangeWholeDocument(text="print(3)\n"),
            ],
        ),
        m.DidChangeParams,
    ),
    (
        t.DidSaveTextDocumentParams(
            text_document=t.TextDocumentIdentifier(uri=URI), text="print(3)\n"
        ),
        m.DidSaveParams,
    ),
    (
        t.DidCloseTextDocumentParams(text_document=t.TextDocumentIdentifier(uri=URI)),
        m.DidCloseParams,
    ),
    (
        t.ReferenceParams(
            text_document=t.TextDocumentIdentifier(uri=URI),
            position=t.Position(line=0, character=2),
            context=t.ReferenceContext(include_declaration=True),
        ),
        m.PositionParams,
    ),
    (
        t.RenameParams(
            text_document=t.TextDocumentIdentifier(uri=URI),
            position=t.Position(line=0, character=2),
            new_name="show",
        ),
        m.PositionParams,
    ),
    (
        [
            t.LocationLink(
                target_uri=URI,
                target_range=_range(1, 0, 3, 0),
                target_selection_range=_range(1, 4, 1, 10),
                origin_selection_range=_range(0, 0, 0, 5),
            )
        ],
        m.LocationResult,
    ),
    (t.Location(uri=URI, range=_range(2, 0, 2, 4)), m.LocationResult),
    (
        t.PublishDiagnosticsParams(
            uri=URI,
            version=3,
            diagnostics=[
                t.Diagnostic(
                    range=_range(0, 0, 0, 5),
                    message="undefined name 'x'",
                    severity=t.DiagnosticSeverity.Error,
                    source="pyflakes",
                    code="F821",
                )
            ],
        ),
        m.PublishDiagnosticsParams,
    ),
    (
        t.RelatedFullDocumentDiagnosticReport(
            items=[t.Diagnostic(range=_range(1, 0, 1, 1), message="m", code=7)], result_id="r1"
        ),
        m.DocumentDiagnosticReport,
    ),
    (
        t.WorkspaceEdit(
            changes={URI: [t.TextEdit(range=_range(0, 0, 0, 5), new_text="show")]},
            document_changes=[
                t.TextDocumentEdit(
                    text_document=t.OptionalVersionedTextDocumentIdentifier(uri=URI, version=4),
                    edits=[t.TextEdit(range=_range(0, 0, 0, 5), new_text="show")],
                ),
                t.RenameFile(old_uri=URI, new_uri="file:///ws/app.py"),
                t.CreateFile(uri="file:///ws/new.py"),
                t.DeleteFile(uri="file:///ws/old.py"),
            ],
        ),
        m.WorkspaceEdit,
    ),
    (
        t.CodeAction(
            title="Fix it",
            kind=t.CodeActionKind.QuickFix,
            command=t.Command(title="Apply", command="fix.apply"),
            edit=t.WorkspaceEdit(changes={URI: []}),
        ),
        m.CodeActionLike,
    ),
    (t.Command(title="Organize", command="imports.organize"), m.CodeActionLike),
    (t.ExecuteCommandParams(command="fix.apply", arguments=[1]), m.ExecuteCommandParams),
    (
        t.InitializeParams(
            capabilities=t.ClientCapabilities(
                general=t.GeneralClientCapabilities(
                    position_encodings=[t.PositionEncodingKind.Utf8, t.PositionEncodingKind.Utf16]
                )
            ),
            process_id=42,
            root_uri="file:///ws",
            root_path="/ws",
            workspace_folders=[t.WorkspaceFolder(uri="file:///ws", name="ws")],
            client_info=t.ClientInfo(name="editor", version="1.0"),
        ),
        m.InitializeParams,
    ),
    (
        t.InitializeResult(
            capabilities=t.ServerCapabilities(position_encoding=t.PositionEncodingKind.Utf8),
            server_info=t.ServerInfo(name="server", version="2"),
        ),
        m.InitializeResult,
    ),
]


@pytest.mark.parametrize(
    "message, struct",
    MESSAGES,
    ids=lambda x: type(x).__name__ if not isinstance(x, list) else "list",
)
def test_what_lsprotocol_writes_the_recorder_reads_alike(message, struct):
    converter = get_converter()
    written = converter.unstructure(message)
    data = msgspec.json.encode(written)
    decoded = msgspec.json.decode(data, type=struct)  # the recorder's decoder
    _agrees(msgspec.to_builtins(decoded), written)
