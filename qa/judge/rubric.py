"""Rubrics as files: dimensions scored 1–5 with anchored descriptions.

A rubric is a TOML (or JSON) file named ``<id>.toml``; the default one ships
in ``qa/judge/rubrics/``. Researchers add their own in a rubric directory
(``PRTRACE_JUDGE_RUBRIC_DIR``) and pick one per request by id. The content
hash is taken over the parsed content (not the bytes), so reformatting a
file does not change it, while changing any word does, and cached
judgements of an older text are never reused (see :mod:`prtrace.qa.judge.cache`).
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Iterable
from importlib import resources
from pathlib import Path
from typing import Annotated

import msgspec
from msgspec import Meta, Struct

from prtrace.hashing import text_hash

SCORE_MIN = 1
SCORE_MAX = 5
ANCHORS = ("1", "3", "5")
_SUFFIXES = (".toml", ".json")
_NAME = Annotated[str, Meta(pattern=r"^[a-z][a-z0-9_]{0,63}$")]
_RUBRIC_ID = Annotated[str, Meta(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")]


class RubricError(ValueError):
    """A rubric that cannot be found or is not valid (the message says which and why)."""


class Dimension(Struct, forbid_unknown_fields=True, kw_only=True):
    name: _NAME
    title: str
    question: str
    anchors: dict[str, str]
    """What a score of ``"1"``, ``"3"`` and ``"5"`` looks like."""
    weight: Annotated[float, Meta(gt=0)] = 1.0


class Rubric(Struct, forbid_unknown_fields=True, kw_only=True):
    id: _RUBRIC_ID
    version: Annotated[str, Meta(min_length=1, max_length=64)]
    title: str
    dimensions: Annotated[list[Dimension], Meta(min_length=1, max_length=32)]
    description: str = ""
    disagreement: Annotated[float, Meta(gt=0)] = 2.0
    """A spread (max − min over samples) at or above this marks low confidence."""

    @property
    def names(self) -> list[str]:
        return [d.name for d in self.dimensions]

    @property
    def content_hash(self) -> str:
        """sha256 of the canonical JSON of the content: the cache's rubric key."""
        return text_hash(msgspec.json.encode(msgspec.to_builtins(self), order="sorted").decode())

    def overall(self, scores: dict[str, float]) -> float:
        """The weighted mean of the dimension scores, to two decimals."""
        total = sum(d.weight for d in self.dimensions)
        return round(sum(scores[d.name] * d.weight for d in self.dimensions) / total, 2)


def builtin_dir() -> Path:
    """The rubrics shipped in the package."""
    return Path(str(resources.files("prtrace.qa.judge") / "rubrics"))


def parse_rubric(data: bytes, source: str) -> Rubric:
    """Decode and check one rubric file's content."""
    try:
        raw = tomllib.loads(data.decode()) if source.endswith(".toml") else json.loads(data)
        rubric = msgspec.convert(raw, Rubric)
    except (tomllib.TOMLDecodeError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise RubricError(f"rubric {source}: not valid {Path(source).suffix[1:]}: {exc}") from None
    except msgspec.ValidationError as exc:
        raise RubricError(f"rubric {source}: {exc}") from None
    names = rubric.names
    if len(set(names)) != len(names):
        raise RubricError(f"rubric {source}: a dimension name is used twice")
    for dim in rubric.dimensions:
        missing = [a for a in ANCHORS if not dim.anchors.get(a, "").strip()]
        if missing:
            raise RubricError(
                f"rubric {source}: dimension {dim.name} lacks the anchor(s) {', '.join(missing)}"
            )
    return rubric


def _search_dirs(extra_dirs: Iterable[str | Path]) -> list[Path]:
    """Researchers' directories first (they may shadow a built-in id), then the package's."""
    return [Path(d).expanduser() for d in extra_dirs if str(d)] + [builtin_dir()]


def load_rubric(name: str, extra_dirs: Iterable[str | Path] = ()) -> Rubric:
    """The rubric with id ``name`` (the file's stem, which must match its ``id``)."""
    if not name or "/" in name or "\\" in name or name.startswith("."):
        raise RubricError(f"rubric {name!r}: not a rubric id")
    for directory in _search_dirs(extra_dirs):
        for suffix in _SUFFIXES:
            path = directory / f"{name}{suffix}"
            if path.is_file():
                rubric = parse_rubric(path.read_bytes(), str(path))
                if rubric.id != name:
                    raise RubricError(f"rubric {path}: its id is {rubric.id!r}, not {name!r}")
                return rubric
    known = ", ".join(list_rubrics(extra_dirs)) or "none"
    raise RubricError(f"rubric {name!r} not found (known: {known})")


def list_rubrics(extra_dirs: Iterable[str | Path] = ()) -> list[str]:
    """Every rubric id that :func:`load_rubric` could find."""
    ids: set[str] = set()
    for directory in _search_dirs(extra_dirs):
        if directory.is_dir():
            ids.update(p.stem for p in directory.iterdir() if p.suffix in _SUFFIXES)
    return sorted(ids)
