"""The sample repository and a recorded session on it.

The sample (``sample_repo/``) is a small stock-keeping library whose
valuation report is a few cents short: ``parse_price`` turns ``"19.99"`` into
``1998`` cents because ``float("19.99") * 100`` is ``1998.9999999999998`` and
``int()`` truncates. The symptom shows in ``report.py``; the cause is in
``parsing.py``, two modules away.

:func:`recorded_session` is what the recorder would have captured while a
developer found that: the failing test run, the files opened, definitions and
references followed, a failed attempt (rounding the float) that is reverted,
the real fix (``Decimal``), the passing run and the commit. Every edit is made
by really editing the text, so the hashes chain and the patches replay byte for
byte; the final patch and the commit hash come from real ``git`` in a temporary
clone, so they are exactly what ``git apply`` and QA will see.
"""

from __future__ import annotations

import os
import re
import shlex
import tempfile
from datetime import datetime, timedelta
from importlib import resources
from importlib.abc import Traversable
from pathlib import Path
from typing import Any

from prtrace import events as ev
from prtrace.git import run, working_tree_patch
from prtrace.hashing import text_hash
from prtrace.patches import make_patch

TEST_COMMAND = "python3 -m pytest -q"
TEST_IMAGE = "prtrace-test/python:bookworm"
"""Built offline by ``python -m prtrace.qa.images build`` (qa/images/)."""
"""How the sample's tests run (in QA's container and on a developer's machine)."""

FAIL_TO_PASS = ["tests/test_report.py::test_summary_total_matches_export"]
"""The test that fails at the base commit and passes with the fix."""

BASE_MESSAGE = "inventory 0.3.0: CSV import and valuation report"
FIX_MESSAGE = "Parse prices exactly with Decimal"

_BASE_IDENTITY = ("prtrace demo", "demo@prtrace.invalid")
_DEVELOPER_IDENTITY = ("Dana Developer", "dana@example.com")
_BASE_DATE = "2024-01-15T09:00:00+00:00"
_SKIP = {"__pycache__", ".pytest_cache"}


# --- git ----------------------------------------------------------------------


def _git_env(identity: tuple[str, str], date: str) -> dict[str, str]:
    """A fixed author, committer and date (no user configuration is read by
    :func:`prtrace.git.run` anyway): same tree, same hash."""
    return {
        "GIT_AUTHOR_NAME": identity[0],
        "GIT_AUTHOR_EMAIL": identity[1],
        "GIT_COMMITTER_NAME": identity[0],
        "GIT_COMMITTER_EMAIL": identity[1],
        "GIT_AUTHOR_DATE": date,
        "GIT_COMMITTER_DATE": date,
    }


def _git(repo: Path, *args: str, env: dict[str, str] | None = None) -> str:
    return run(*args, cwd=repo, env=env or _git_env(_BASE_IDENTITY, _BASE_DATE)).stdout


# --- the repository -------------------------------------------------------------


def sample_files() -> Traversable:
    """The bundled files (from the source tree or the installed package)."""
    return resources.files("prtrace.demo") / "sample_repo"


def _copy_tree(src: Traversable, dest: Path) -> None:
    for entry in sorted(src.iterdir(), key=lambda entry: entry.name):
        if entry.name in _SKIP or entry.name.endswith(".pyc"):
            continue
        target = dest / entry.name
        if entry.is_dir():
            target.mkdir()
            _copy_tree(entry, target)
        else:
            target.write_bytes(entry.read_bytes())


def make_sample_repo(dest: Path) -> tuple[Path, str]:
    """Create a git repository of the sample at ``dest`` (absent or empty).

    Returns its path and the commit, which is the same on every machine: the
    author, committer and date are fixed and user configuration is ignored.
    """
    dest = Path(dest).resolve()
    dest.mkdir(parents=True, exist_ok=True)
    if any(dest.iterdir()):
        raise FileExistsError(f"{dest} is not empty")
    _copy_tree(sample_files(), dest)
    _git(dest, "init", "-q", "-b", "main")
    _git(dest, "add", "-A")
    _git(dest, "commit", "-q", "--no-gpg-sign", "-m", BASE_MESSAGE)
    return dest, _git(dest, "rev-parse", "HEAD").strip()


def _commit_fix(
    repo: Path, commit: str, final_texts: dict[str, str], when: datetime
) -> tuple[str, str, str]:
    """Write the fixed files in a temporary clone at ``commit``; return the
    final patch against ``commit``, its ``--shortstat`` and the hash of the
    commit the developer makes of it."""
    env = _git_env(_DEVELOPER_IDENTITY, when.isoformat())
    with tempfile.TemporaryDirectory(prefix="prtrace-sample-") as tmp:
        clone = Path(tmp) / "repo"
        _git(Path(tmp), "clone", "-q", "--no-checkout", str(repo), str(clone), env=env)
        _git(clone, "checkout", "-q", "-B", "main", commit, env=env)
        for path, text in final_texts.items():
            (clone / path).write_bytes(text.encode("utf-8"))
        patch = working_tree_patch(clone, commit)  # exactly what `record stop` would send
        stat = _git(clone, "diff", "--shortstat", commit, env=env)
        _git(clone, "commit", "-q", "-a", "--no-gpg-sign", "-m", FIX_MESSAGE, env=env)
        return patch, stat, _git(clone, "rev-parse", "HEAD", env=env).strip()


# --- positions in texts -----------------------------------------------------------


def _position(text: str, offset: int) -> ev.Position:
    """The zero-based LSP position of ``offset`` (the sample is ASCII, so
    UTF-16 code units and characters agree)."""
    line = text.count("\n", 0, offset)
    return ev.Position(line=line, character=offset - (text.rfind("\n", 0, offset) + 1))


def _span(text: str, start: int, end: int) -> ev.Range:
    return ev.Range(start=_position(text, start), end=_position(text, end))


def _find(text: str, needle: str, symbol: str | None = None) -> ev.Range:
    """The range of ``symbol`` inside the one occurrence of ``needle``."""
    if text.count(needle) != 1:
        raise ValueError(f"{needle!r} occurs {text.count(needle)} times, not once")
    start = text.index(needle) + (needle.index(symbol) if symbol else 0)
    return _span(text, start, start + len(symbol or needle))


def _location(path: str, text: str, needle: str, symbol: str) -> ev.Location:
    found = _find(text, needle, symbol)
    return ev.Location(path=path, line=found.start.line + 1, range=found)


def _references(texts: dict[str, str], symbol: str) -> list[ev.Location]:
    """Every whole-word occurrence of ``symbol``, as a language server lists them."""
    found = []
    for path in sorted(texts):
        text = texts[path]
        for match in re.finditer(rf"\b{re.escape(symbol)}\b", text):
            rng = _span(text, match.start(), match.end())
            found.append(ev.Location(path=path, line=rng.start.line + 1, range=rng))
    return found


# --- the session ------------------------------------------------------------------


class _Session:
    """Accumulates events with increasing times and tracks the editor buffers."""

    def __init__(self, repo: Path, session_id: str, start: datetime) -> None:
        self.repo = repo
        self.session_id = session_id
        self.now = start
        self.events: list[ev.Event] = []
        self.texts: dict[str, str] = {}
        self.versions: dict[str, int] = {}

    def emit(self, cls: type, after: float, **fields: Any) -> Any:
        self.now += timedelta(seconds=after)
        event = cls(
            id=f"{self.session_id}-{len(self.events) + 1:05d}",
            t=self.now,
            session_id=self.session_id,
            **fields,
        )
        self.events.append(event)
        return event

    def open(self, path: str, after: float) -> None:
        text = (self.repo / path).read_bytes().decode("utf-8")
        self.texts[path] = text
        self.versions[path] = 1
        self.emit(
            ev.FileOpened,
            after,
            source="lsp",
            path=path,
            language="python",
            version=1,
            hash=text_hash(text),
            size=len(text.encode("utf-8")),
        )

    def edit(self, path: str, old: str, new: str, after: float, changes: int) -> None:
        """Replace the one occurrence of ``old`` with ``new`` in the buffer."""
        before = self.texts[path]
        if before.count(old) != 1:
            raise ValueError(f"{path}: {old!r} occurs {before.count(old)} times")
        text = before.replace(old, new, 1)
        # The changed region: what is left after the common prefix and suffix.
        prefix = len(os.path.commonprefix([before, text]))
        suffix = len(os.path.commonprefix([before[prefix:][::-1], text[prefix:][::-1]]))
        removed, inserted = len(before) - prefix - suffix, len(text) - prefix - suffix
        op = "insert" if not removed else "delete" if not inserted else "replace"
        self.versions[path] += changes
        self.texts[path] = text
        self.emit(
            ev.Edit,
            after,
            source="lsp",
            path=path,
            op=op,
            patch_unified=make_patch(before, text, path),
            before_hash=text_hash(before),
            after_hash=text_hash(text),
            range=_span(before, prefix, prefix + removed),
            changes=changes,
            version=self.versions[path],
        )

    def save(self, path: str, after: float) -> None:
        self.emit(ev.FileSaved, after, source="lsp", path=path, hash=text_hash(self.texts[path]))

    def run(self, cmd: str, after: float, exit_code: int, duration_ms: float, stdout: str) -> None:
        self.emit(
            ev.TerminalCommand,
            after,
            source="shell",
            cmd=cmd,
            args=shlex.split(cmd),
            cwd=str(self.repo),
            exit_code=exit_code,
            duration_ms=duration_ms,
            stdout=stdout,
            output_bytes=len(stdout.encode("utf-8")),
        )
        # The command's own time is part of the session's timeline.
        self.now += timedelta(milliseconds=duration_ms)

    def think(self, raw: str, tags: list[str], after: float) -> None:
        self.emit(ev.Thought, after, source="cli", raw=raw, tags=tags)


def _read_sources(repo: Path) -> dict[str, str]:
    return {
        path.relative_to(repo).as_posix(): path.read_text(encoding="utf-8")
        for path in sorted(repo.rglob("*.py"))
        if not _SKIP.intersection(path.relative_to(repo).parts)
    }


def recorded_session(
    repo: Path, commit: str, *, session_id: str, start: datetime
) -> tuple[list[ev.Event], str]:
    """The events of a developer fixing the sample's bug, and the final patch.

    ``repo`` is a repository made by :func:`make_sample_repo` (checked out at
    ``commit``); it is only read. ``start`` must carry a time zone.
    """
    repo = Path(repo)
    s = _Session(repo, session_id, start)
    sources = _read_sources(repo)

    s.run(TEST_COMMAND, 0.0, 1, 412.0, _FAILING_RUN)
    s.think(
        "test_summary_total_matches_export: total is $70.28, expected $70.32 - 4 cents short. "
        "The unit prices in the report are already off ($19.98 for the widget, $4.34 for the "
        "gadget), so the total is not the problem.",
        ["observation"],
        21.5,
    )
    s.open("tests/test_report.py", 6.2)
    s.open("inventory/report.py", 9.8)
    report = s.texts["inventory/report.py"]
    models = sources["inventory/models.py"]
    s.emit(
        ev.GoToDefinition,
        14.1,
        source="lsp",
        path="inventory/report.py",
        symbol="format_cents",
        range=_find(report, "format_cents(item.unit_price_cents)", "format_cents"),
        targets=[_location("inventory/models.py", models, "def format_cents(", "format_cents")],
        latency_ms=38.0,
    )
    s.open("inventory/models.py", 0.4)
    s.think(
        "format_cents is integer divmod, it cannot lose a cent. The cents must already be "
        "wrong when the items are built. Who sets unit_price_cents?",
        ["hypothesis"],
        27.0,
    )
    references = _references(sources, "unit_price_cents")
    s.emit(
        ev.FindReferences,
        8.3,
        source="lsp",
        path="inventory/models.py",
        symbol="unit_price_cents",
        range=_find(models, "    unit_price_cents: int", "unit_price_cents"),
        count=len(references),
        files=sorted({location.path for location in references}),
        targets=references,
        latency_ms=61.0,
    )
    s.open("inventory/parsing.py", 5.6)
    parsing = s.texts["inventory/parsing.py"]
    s.emit(
        ev.GoToDefinition,
        11.9,
        source="lsp",
        path="inventory/parsing.py",
        symbol="parse_price",
        range=_find(parsing, 'unit_price_cents=parse_price(row["price"])', "parse_price"),
        targets=[_location("inventory/parsing.py", parsing, "def parse_price(", "parse_price")],
        latency_ms=22.0,
    )
    s.run("""python3 -c "print(float('19.99') * 100)\"""", 19.0, 0, 31.0, "1998.9999999999998\n")
    s.think(
        "There it is: float('19.99') * 100 == 1998.9999999999998 and int() truncates it to "
        "1998. parse_price has the bug, not the report.",
        ["root-cause"],
        12.4,
    )

    # A first try that does not work: rounding the float first.
    s.edit(
        "inventory/parsing.py",
        "    return int(float(cleaned) * 100)\n",
        "    return int(round(float(cleaned), 2) * 100)\n",
        16.0,
        changes=9,
    )
    s.save("inventory/parsing.py", 2.1)
    s.run("python3 -m pytest -q tests/test_report.py", 3.5, 1, 268.0, _STILL_FAILING_RUN)
    s.think(
        "round(19.99, 2) is the same binary float, times 100 is still 1998.999... Rounding "
        "floats cannot fix this. Reverting; parse the decimal string exactly instead.",
        ["dead-end", "failed-attempt"],
        24.0,
    )
    s.edit(
        "inventory/parsing.py",
        "    return int(round(float(cleaned), 2) * 100)\n",
        "    return int(float(cleaned) * 100)\n",
        9.0,
        changes=1,
    )

    # The fix: Decimal, rounding half up to whole cents.
    s.edit(
        "inventory/parsing.py",
        "import csv\nimport io\n",
        "import csv\nimport io\nfrom decimal import ROUND_HALF_UP, Decimal, InvalidOperation\n",
        13.0,
        changes=3,
    )
    parsing = s.texts["inventory/parsing.py"]
    import_line = _find(parsing, "from decimal import ROUND_HALF_UP, Decimal, InvalidOperation")
    unused = [
        ev.DiagnosticItem(
            range=import_line,
            severity="warning",
            message=f"'decimal.{name}' imported but unused",
            source="pyflakes",
        )
        for name in ("ROUND_HALF_UP", "Decimal", "InvalidOperation")
    ]
    s.emit(
        ev.Diagnostics,
        0.6,
        source="lsp",
        path="inventory/parsing.py",
        warnings=len(unused),
        items=unused,
    )
    s.edit(
        "inventory/parsing.py",
        "    return int(float(cleaned) * 100)\n",
        "    try:\n"
        "        cents = Decimal(cleaned) * 100\n"
        "    except InvalidOperation:\n"
        '        raise ValueError(f"bad price: {text!r}") from None\n'
        "    # Exact decimal arithmetic: float('19.99') * 100 is 1998.999..., not 1999.\n"
        "    return int(cents.quantize(Decimal(1), rounding=ROUND_HALF_UP))\n",
        41.0,
        changes=27,
    )
    s.emit(ev.Diagnostics, 0.7, source="lsp", path="inventory/parsing.py")
    s.save("inventory/parsing.py", 3.0)
    s.run(TEST_COMMAND, 4.2, 0, 389.0, _PASSING_RUN)
    s.think(
        "All 12 pass. Prices are now parsed with Decimal and rounded half up to cents; "
        "nothing else needed to change.",
        ["verified"],
        15.0,
    )
    s.emit(ev.FileClosed, 6.0, source="lsp", path="tests/test_report.py")

    final_texts = {"inventory/parsing.py": s.texts["inventory/parsing.py"]}
    commit_time = s.now + timedelta(seconds=20)
    patch, stat, fix_commit = _commit_fix(repo, commit, final_texts, commit_time)
    s.run(
        f"git commit -am {shlex.quote(FIX_MESSAGE)}",
        20.0,
        0,
        45.0,
        f"[main {fix_commit[:7]}] {FIX_MESSAGE}\n{stat}",
    )
    s.emit(
        ev.CommitMade,
        0.1,
        source="git",
        hash=fix_commit,
        message=FIX_MESSAGE,
        files=sorted(final_texts),
        branch="main",
    )
    return s.events, patch


# --- terminal output, as pytest printed it ------------------------------------------

_FAILING_RUN = """\
......F.....                                                             [100%]
=================================== FAILURES ===================================
______________________ test_summary_total_matches_export _______________________

    def test_summary_total_matches_export():
        report = summary(Stock(load_csv(EXPORT)))
        # 3 x 19.99 + 1 x 4.35 + 12 x 0.50
>       assert "Total: $70.32" in report.splitlines()
E       AssertionError: assert 'Total: $70.32' in ['G-200    Gadget                   1 x     $4.34 =      $4.34', 'S-300    Sprocket                12 x     $0.50 =      $6.00', 'W-100    Widget                   3 x    $19.98 =     $59.94', 'Total: $70.28', 'Low stock: G-200']
E        +  where ['G-200    Gadget                   1 x     $4.34 =      $4.34', 'S-300    Sprocket                12 x     $0.50 =      $6.00', 'W-100    Widget                   3 x    $19.98 =     $59.94', 'Total: $70.28', 'Low stock: G-200'] = <built-in method splitlines of str object at 0x7f4098470140>()
E        +    where <built-in method splitlines of str object at 0x7f4098470140> = 'G-200    Gadget                   1 x     $4.34 =      $4.34\\nS-300    Sprocket                12 x     $0.50 =      $6.00\\nW-100    Widget                   3 x    $19.98 =     $59.94\\nTotal: $70.28\\nLow stock: G-200'.splitlines

tests/test_report.py:20: AssertionError
=========================== short test summary info ============================
FAILED tests/test_report.py::test_summary_total_matches_export - AssertionErr...
1 failed, 11 passed in 0.07s
"""

_STILL_FAILING_RUN = """\
.F.                                                                      [100%]
=================================== FAILURES ===================================
______________________ test_summary_total_matches_export _______________________

    def test_summary_total_matches_export():
        report = summary(Stock(load_csv(EXPORT)))
        # 3 x 19.99 + 1 x 4.35 + 12 x 0.50
>       assert "Total: $70.32" in report.splitlines()
E       AssertionError: assert 'Total: $70.32' in ['G-200    Gadget                   1 x     $4.34 =      $4.34', 'S-300    Sprocket                12 x     $0.50 =      $6.00', 'W-100    Widget                   3 x    $19.98 =     $59.94', 'Total: $70.28', 'Low stock: G-200']
E        +  where ['G-200    Gadget                   1 x     $4.34 =      $4.34', 'S-300    Sprocket                12 x     $0.50 =      $6.00', 'W-100    Widget                   3 x    $19.98 =     $59.94', 'Total: $70.28', 'Low stock: G-200'] = <built-in method splitlines of str object at 0x7f2c1b6a3e20>()
E        +    where <built-in method splitlines of str object at 0x7f2c1b6a3e20> = 'G-200    Gadget                   1 x     $4.34 =      $4.34\\nS-300    Sprocket                12 x     $0.50 =      $6.00\\nW-100    Widget                   3 x    $19.98 =     $59.94\\nTotal: $70.28\\nLow stock: G-200'.splitlines

tests/test_report.py:20: AssertionError
=========================== short test summary info ============================
FAILED tests/test_report.py::test_summary_total_matches_export - AssertionErr...
1 failed, 2 passed in 0.05s
"""

_PASSING_RUN = """\
............                                                             [100%]
12 passed in 0.04s
"""
