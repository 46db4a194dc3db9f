"""pygls' language client drives a real server (pylsp) through ``prtrace lsp``.

tests/support/lsp_support.py's hand-written client checks the proxy byte for byte; this
one is an independent, well-kept LSP client (pygls, with lsprotocol's types) in
front of the proxy, as an editor's client library would be: the session works
through the proxy and is recorded.
"""

from __future__ import annotations

import asyncio
import shutil
import sys
from pathlib import Path

from lsprotocol import types as t
from pygls.lsp.client import LanguageClient
from pygls.protocol import default_converter

from prtrace.hashing import text_hash
from tests.support.lsp_support import proxy_env, prtrace_cmd, spooled_events
from tests.support.services import service_required

UTIL = "def helper(x):\n    return x + 1\n"
MAIN = "from pkg.util import helper\n\nprint(helper(2))\n"
ADDED = "value = helper(3)\n"


def _pylsp() -> str:
    exe = Path(sys.executable).with_name("pylsp")
    found = str(exe) if exe.exists() else shutil.which("pylsp")
    if not found:
        service_required("pylsp is not installed (pip install the dev extra)")
    return str(found)


STEP_TIMEOUT = 60.0
"""Seconds for any one answer: pygls leaves a request waiting forever when it cannot
read the answer, so a failure here must not hang the suite."""

NOTEBOOK_FILTER = (
    str
    | t.NotebookDocumentFilterNotebookType
    | t.NotebookDocumentFilterScheme
    | t.NotebookDocumentFilterPattern
    | None
)


def _converter():
    """pygls' converter, plus the hook lsprotocol 2025.0.0 lacks under cattrs 26 for
    ``NotebookDocumentFilterWithCells.notebook`` (microsoft/lsprotocol#462): without
    it pylsp's initialize answer (a cells-only notebook selector) cannot be read."""
    converter = default_converter()
    keys = {
        "notebookType": t.NotebookDocumentFilterNotebookType,
        "scheme": t.NotebookDocumentFilterScheme,
        "pattern": t.NotebookDocumentFilterPattern,
    }

    def structure(value, _type):
        if value is None or isinstance(value, str):
            return value
        cls = next(cls for key, cls in keys.items() if key in value)
        return converter.structure(value, cls)

    converter.register_structure_hook(NOTEBOOK_FILTER, structure)
    return converter


class Client(LanguageClient):
    """pygls' client, keeping the server's (here: the proxy's) exit code."""

    returncode: int | None = None

    def __init__(self) -> None:
        super().__init__("prtrace-tests", "1", converter_factory=_converter)

    async def server_exit(self, server) -> None:
        self.returncode = server.returncode


async def _answer(request):
    return await asyncio.wait_for(request, STEP_TIMEOUT)


async def test_pygls_client_session_through_the_proxy_is_recorded(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    (ws / "pkg").mkdir(parents=True)
    (ws / "pkg" / "__init__.py").write_text("")
    (ws / "pkg" / "util.py").write_text(UTIL)
    (ws / "main.py").write_text(MAIN)
    uri = (ws / "main.py").as_uri()
    doc = t.TextDocumentIdentifier(uri=uri)

    client = Client()
    try:
        argv = [*prtrace_cmd(), "lsp", "--no-upload", "--idle-gap", "60", "--", _pylsp()]
        await client.start_io(argv[0], *argv[1:], env=proxy_env(ws), cwd=ws)
        init = await _answer(
            client.initialize_async(
                t.InitializeParams(
                    capabilities=t.ClientCapabilities(),
                    root_uri=ws.as_uri(),
                    workspace_folders=[t.WorkspaceFolder(uri=ws.as_uri(), name="ws")],
                )
            )
        )
        assert init.capabilities.definition_provider
        client.initialized(t.InitializedParams())
        client.text_document_did_open(
            t.DidOpenTextDocumentParams(
                text_document=t.TextDocumentItem(
                    uri=uri, language_id="python", version=1, text=MAIN
                )
            )
        )

        found = await _answer(
            client.text_document_definition_async(
                t.DefinitionParams(text_document=doc, position=t.Position(line=2, character=8))
            )
        )
        assert found, "pylsp found no definition"
        refs = await _answer(
            client.text_document_references_async(
                t.ReferenceParams(
                    text_document=doc,
                    position=t.Position(line=2, character=8),
                    context=t.ReferenceContext(include_declaration=True),
                )
            )
        )
        assert refs and len(refs) >= 2

        client.text_document_did_change(
            t.DidChangeTextDocumentParams(
                text_document=t.VersionedTextDocumentIdentifier(uri=uri, version=2),
                content_changes=[
                    t.TextDocumentContentChangePartial(
                        range=t.Range(
                            start=t.Position(line=3, character=0),
                            end=t.Position(line=3, character=0),
                        ),
                        text=ADDED,
                    )
                ],
            )
        )
        (ws / "main.py").write_text(MAIN + ADDED)
        client.text_document_did_save(t.DidSaveTextDocumentParams(text_document=doc))
        client.text_document_did_close(t.DidCloseTextDocumentParams(text_document=doc))
        await _answer(client.shutdown_async(None))
        client.exit(None)
        await _answer(client.stop())  # waits for the proxy to exit, which flushes its spool
        assert client.returncode == 0
    finally:
        server = client._server  # pygls keeps the process it started here
        if server is not None and server.returncode is None:  # a step failed: no leftovers
            server.kill()
            await server.wait()

    events = [e for e in spooled_events(ws) if e["type"] != "diagnostics"]
    assert [e["type"] for e in events] == [
        "file_opened",
        "go_to_definition",
        "find_references",
        "edit",
        "file_saved",
        "file_closed",
    ]
    nav, references, edit, saved = events[1], events[2], events[3], events[4]
    assert nav["symbol"] == "helper" and nav["path"] == "main.py"
    assert references["count"] == len(refs) and "main.py" in references["files"]
    assert edit["op"] == "insert" and edit["before_hash"] == text_hash(MAIN)
    assert edit["after_hash"] == saved["hash"] == text_hash(MAIN + ADDED)
