"""docs/architecture.md names every module, config and script, and nothing that is gone.

The page is read as sections: a heading that starts with a folder in backticks
(``## `recorder/` — …``, ``### `backend/storage/` — …``) opens the section of that
folder; any other heading closes it. In a folder's section, each table row names
one path, relative to that folder, in backticks at the start of its first cell
(``| `db.py` | … |``, ``| `versions/0001_initial.py` | … |``).

* Every module under prtrace/, recorder/, backend/, qa/ and benchmarks/ (every
  ``.py`` file, except an ``__init__.py`` that holds no code and the sample
  repository under prtrace/demo/sample_repo/), every config under
  editor-configs/, every script under scripts/ and every file of the web viewer
  has a row in the section of the deepest folder that has one.
* Every Python package folder has a section of its own.
* No row names a path that does not exist, or a file that belongs to a deeper
  folder's section (a row left behind when a module moved).

Only files are read: no subprocess, no socket.
"""

from __future__ import annotations

import ast
import re
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "architecture.md"
DOC_NAME = "docs/architecture.md"

PY_TREES = ("prtrace", "recorder", "backend", "qa", "benchmarks")
"""Every ``.py`` module under these needs a row."""
FILE_TREES = ("editor-configs", "scripts", "backend/web")
"""Every file under these (configs, scripts, the viewer) needs a row."""
CHECKED_ROOTS = (*PY_TREES, "editor-configs", "scripts")
"""Tables of sections under these are checked for stale rows. (tests/ is not: its
tiers are described, not listed file by file.)"""
SKIPPED = ("prtrace/demo/sample_repo",)
"""Not our code: a sample repository, named once as a folder."""
NOT_LISTED_NAMES = ("README.md", "package-lock.json")
"""Documentation and generated lock files need no row (a row for them is allowed)."""
NOT_LISTED_DIRS = ("__pycache__", "node_modules")

HEADING = re.compile(r"^#{1,6}\s")
FOLDER_HEADING = re.compile(r"^#{2,6}\s+`([^`\s]+)/`")
ROW_PATH = re.compile(r"\s*`([^`]+)`")
CELL_SPLIT = re.compile(r"(?<!\\)\|")


@dataclass
class Section:
    folder: str  # repository-relative, no trailing slash
    heading: str
    line: int
    rows: dict[str, int] = field(default_factory=dict)  # path named by the row -> line number
    duplicates: list[tuple[str, int]] = field(default_factory=list)


def parse_doc(text: str) -> list[Section]:
    """The folder sections of the page, with the path each of their table rows names."""
    sections: list[Section] = []
    current: Section | None = None
    in_fence = False
    for number, line in enumerate(text.splitlines(), start=1):
        if line.lstrip().startswith("```"):
            in_fence = not in_fence
            continue
        if in_fence:
            continue
        if HEADING.match(line):
            match = FOLDER_HEADING.match(line)
            current = Section(match.group(1), line.strip(), number) if match else None
            if current is not None:
                sections.append(current)
            continue
        if current is None or not line.startswith("|"):
            continue
        cells = CELL_SPLIT.split(line.strip())
        if len(cells) < 3:
            continue
        match = ROW_PATH.match(cells[1])  # cells[0] is what precedes the first pipe
        if match is None:  # the header row, the --- separator
            continue
        path = match.group(1).replace("\\|", "|")
        if path in current.rows:
            current.duplicates.append((path, number))
        else:
            current.rows[path] = number
    return sections


def _listed_dirs_only(rel: Path) -> bool:
    return not any(part in NOT_LISTED_DIRS or part.startswith(".") for part in rel.parts)


def _skipped(rel: str) -> bool:
    return any(rel == s or rel.startswith(s + "/") for s in SKIPPED)


def holds_code(init: Path) -> bool:
    """Whether an ``__init__.py`` holds more than a docstring."""
    body = ast.parse(init.read_text(encoding="utf-8")).body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]
    return bool(body)


def listed_files() -> list[str]:
    """Repository-relative paths of every file that needs a row."""
    found: set[str] = set()
    for tree in PY_TREES:
        for path in (ROOT / tree).rglob("*.py"):
            rel = path.relative_to(ROOT)
            if not _listed_dirs_only(rel) or _skipped(rel.as_posix()):
                continue
            if path.name == "__init__.py" and not holds_code(path):
                continue
            found.add(rel.as_posix())
    for tree in FILE_TREES:
        for path in (ROOT / tree).rglob("*"):
            rel = path.relative_to(ROOT)
            if not path.is_file() or not _listed_dirs_only(rel):
                continue
            if path.name in NOT_LISTED_NAMES or path.suffix in (".pyc", ".vsix"):
                continue
            found.add(rel.as_posix())
    return sorted(found)


def package_folders() -> list[str]:
    """Every folder the page needs a section for: the trees, and each Python package."""
    folders = set(CHECKED_ROOTS) | set(FILE_TREES)
    for tree in PY_TREES:
        for init in (ROOT / tree).rglob("__init__.py"):
            rel = init.parent.relative_to(ROOT)
            if _listed_dirs_only(rel) and not _skipped(rel.as_posix()):
                folders.add(rel.as_posix())
    return sorted(folders)


def owner(rel: str, sections: dict[str, Section]) -> Section | None:
    """The section of the deepest folder that holds ``rel``."""
    best: Section | None = None
    for folder, section in sections.items():
        if rel.startswith(folder + "/") and (best is None or len(folder) > len(best.folder)):
            best = section
    return best


def summary(path: Path) -> str:
    """A module's docstring summary, as a hint for the line to write."""
    if path.suffix != ".py":
        return ""
    doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8")))
    return doc.strip().splitlines()[0] if doc else ""


def _sections() -> dict[str, Section]:
    parsed = parse_doc(DOC.read_text(encoding="utf-8"))
    by_folder: dict[str, Section] = {}
    for section in parsed:
        by_folder.setdefault(section.folder, section)
    return by_folder


def test_every_package_folder_has_a_section() -> None:
    parsed = parse_doc(DOC.read_text(encoding="utf-8"))
    seen: dict[str, Section] = {}
    problems = []
    for section in parsed:
        if section.folder in seen:
            problems.append(
                f"  {DOC_NAME}:{section.line}: `{section.folder}/` has a second section "
                f"(first at line {seen[section.folder].line}); merge them"
            )
        seen.setdefault(section.folder, section)
    for folder in package_folders():
        if folder not in seen:
            depth = "##" if "/" not in folder else "###"
            problems.append(
                f"  {folder}/: add a section `{depth} `{folder}/` — <what it is>` with a table "
                f"| module | why it exists |"
            )
    assert not problems, f"{DOC_NAME} lacks folder sections:\n" + "\n".join(problems)


def test_every_module_has_a_row() -> None:
    sections = _sections()
    missing = []
    for rel in listed_files():
        section = owner(rel, sections)
        if section is None:
            missing.append(f"  {rel}: no section for any folder that holds it")
            continue
        key = rel[len(section.folder) + 1 :]
        if key not in section.rows:
            hint = summary(ROOT / rel)
            missing.append(
                f'  {rel}: under the heading "{section.heading}" (line {section.line}) add\n'
                f"      | `{key}` | <why it exists{': ' + hint if hint else ''}> |"
            )
    assert not missing, (
        f"{len(missing)} module(s), config(s) or script(s) have no row in {DOC_NAME}:\n"
        + "\n".join(missing)
    )


def test_no_row_names_a_missing_or_misplaced_path() -> None:
    sections = _sections()
    stale = []
    for folder, section in sections.items():
        if not any(folder == r or folder.startswith(r + "/") for r in CHECKED_ROOTS):
            continue
        for key, line in section.rows.items():
            rel = f"{folder}/{key.rstrip('/')}"
            target = ROOT / rel
            if not target.exists() or (key.endswith("/") and not target.is_dir()):
                stale.append(f"  {DOC_NAME}:{line}: `{key}` — {rel} does not exist; remove the row")
            elif target.is_file() and (home := owner(rel, sections)) is not section:
                where = f"`{home.folder}/`" if home else "no section"
                stale.append(
                    f"  {DOC_NAME}:{line}: `{key}` — {rel} belongs under {where}; move the row"
                )
        for key, line in section.duplicates:
            stale.append(f"  {DOC_NAME}:{line}: `{key}` is listed twice under `{folder}/`")
    assert not stale, f"{DOC_NAME} has stale rows:\n" + "\n".join(stale)


def test_the_parser_reads_sections_and_rows() -> None:
    text = textwrap.dedent(
        """\
        ## `pkg/` — a package
        | module | why |
        | --- | --- |
        | `a.py` | `x\\|y` in a cell |
        ```
        ## `not/` — inside a fence
        ```
        ### `pkg/sub/` — nested
        | `b.py` | b |
        | `b.py` | again |
        ## Storage model
        | `c.py` | outside any folder section |
        """
    )
    sections = parse_doc(text)
    assert [(s.folder, dict(s.rows)) for s in sections] == [
        ("pkg", {"a.py": 4}),
        ("pkg/sub", {"b.py": 9}),
    ]
    assert sections[1].duplicates == [("b.py", 10)]
    by_folder = {s.folder: s for s in sections}
    assert owner("pkg/sub/b.py", by_folder) is by_folder["pkg/sub"]
    assert owner("pkg/sub2/c.py", by_folder) is by_folder["pkg"]
