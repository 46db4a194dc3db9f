"""The trace speaks one position encoding: ``environment.position_encoding`` is UTF-16,
so ranges recorded while editor and server negotiated UTF-8 (or UTF-32) are converted —
edits, the symbol under the cursor, definition targets (open or only on disk) and
diagnostics. Without the conversion every non-ASCII line would be off."""

from __future__ import annotations

from pathlib import Path

import pytest

from prtrace.recorder.lsp.positions import to_trace_character
from tests.unit.test_lsp_units import Script, _open, _rng

LINE = "naïve = '😀'; naïve\n"  # ï: 2 UTF-8 bytes, 1 UTF-16 unit; 😀: 4 bytes, 2 units


@pytest.mark.parametrize(
    ("encoding", "character", "utf16"),
    [
        ("utf-8", 4, 3),  # after "naï" (n, a, ï=2 bytes)
        ("utf-8", 15, 12),  # after "naïve = '😀" : 6+3+... bytes
        ("utf-32", 11, 12),  # after the emoji: 11 code points, 12 UTF-16 units
        ("utf-16", 12, 12),
    ],
)
def test_to_trace_character(encoding: str, character: int, utf16: int) -> None:
    assert to_trace_character(LINE, character, encoding) == utf16  # type: ignore[arg-type]


def _utf8_session(tmp_path: Path) -> Script:
    s = Script(tmp_path)
    s.c2s(
        {
            "id": 1,
            "method": "initialize",
            "params": {
                "rootUri": tmp_path.as_uri(),
                "capabilities": {"general": {"positionEncodings": ["utf-8"]}},
            },
        }
    )
    s.s2c({"id": 1, "result": {"capabilities": {"positionEncoding": "utf-8"}}})
    return s


def test_navigation_and_diagnostics_ranges_are_utf16(tmp_path: Path) -> None:
    s = _utf8_session(tmp_path)
    _open(s, "m.py", LINE)
    (tmp_path / "lib.py").write_text("x = '😀'; naïve = 1\n")  # a target not open in the editor
    # The cursor inside the second "naïve": byte 18 in UTF-8 (it starts at UTF-16 14).
    s.c2s(
        {
            "id": 2,
            "method": "textDocument/definition",
            "params": {
                "textDocument": {"uri": s.uri("m.py")},
                "position": {"line": 0, "character": 18},
            },
        }
    )
    s.s2c(
        {
            "id": 2,
            "result": [
                {"uri": s.uri("m.py"), "range": _rng(0, 0, 0, 6)},
                {"uri": s.uri("lib.py"), "range": _rng(0, 12, 0, 18)},
            ],
        }
    )
    s.s2c(
        {
            "method": "textDocument/publishDiagnostics",
            "params": {
                "uri": s.uri("m.py"),
                "diagnostics": [{"range": _rng(0, 10, 0, 14), "severity": 1, "message": "emoji"}],
            },
        }
    )
    nav = next(e for e in s.events if type(e).__name__ == "GoToDefinition")
    assert nav.symbol == "naïve"
    assert (nav.range.start.character, nav.range.end.character) == (14, 19)
    assert [(t.range.start.character, t.range.end.character) for t in nav.targets] == [
        (0, 5),
        (10, 15),
    ]
    diag = next(e for e in s.events if type(e).__name__ == "Diagnostics")
    assert (diag.items[0].range.start.character, diag.items[0].range.end.character) == (9, 11)
