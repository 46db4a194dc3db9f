"""The seed's dialect, ``trace-1.0.0``: accepted on every write, given back on request.

The seed (``docs/trace-format.md``, "The seed's dialect") names things its own
way: ``file_path`` for ``path``, ``col`` for ``character``, navigation events
with ``source {file_path, symbol, range}`` and ``target {file_path, line,
symbol_kind}``, ``edit_made`` beside ``edit``, events without ``id``, hashes
that are not sha256, a developer without ``id``. This module

* recognises it per document and per event, without a flag
  (:func:`is_seed_event`, :func:`is_seed_create`, :func:`is_seed_document`);
* validates it with its own types (:data:`SeedEvent`, :class:`SeedTrace`), so an
  error names the field as the client spelled it
  (``events[2].source.range.start.col``); :func:`seed_schema` is their JSON Schema;
* translates it into prtrace's events (:func:`event_to_native`), keeping in
  each event's ``dialect`` what has no native field and the keys as sent, so
  that :func:`event_to_seed` gives every event back as it came;
* shows any prtrace document in the seed's shape (:func:`document_to_seed`),
  with what the seed has no field for under ``prtrace`` objects.

Positions are kept as given: the seed does not say whether its ``line``/``col``
count from 0 or 1, so the numbers are stored as sent, never shifted.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal, TypeAlias, get_args

import msgspec
from msgspec import Meta, Struct

from prtrace.api_types import CreateTraceRequest
from prtrace.codec import convert, split_msgspec_error
from prtrace.errors import FormatError
from prtrace.events import (
    NO_NUL,
    CommitMade,
    Dialect,
    Edit,
    Event,
    EventId,
    FileOpened,
    FindReferences,
    GoToDefinition,
    Location,
    NonNegFloat,
    NonNegInt,
    Path,
    Position,
    PrOpened,
    PushRemote,
    Range,
    TerminalCommand,
    Thought,
    Timestamp,
)
from prtrace.trace import Trace, TraceDialect

SEED_VERSION: Literal["trace-1.0.0"] = "trace-1.0.0"
"""What the seed's documents say in ``version``."""
NAME: Literal["seed"] = "seed"
EXTENSION = "prtrace"
"""The key under which the seed's view keeps what the seed has no field for."""
_COMMIT_HASH = re.compile(r"^[0-9a-f]{7,64}$")
SessionId = Annotated[str, Meta(min_length=1, max_length=128, pattern=NO_NUL)]

# --- the seed's shapes (validation and JSON Schema) ---------------------------------


class SeedPosition(Struct, forbid_unknown_fields=True):
    line: NonNegInt
    col: NonNegInt


class SeedRange(Struct, forbid_unknown_fields=True):
    start: SeedPosition
    end: SeedPosition


class SeedSource(Struct, forbid_unknown_fields=True, omit_defaults=True):
    """Where a navigation started."""

    file_path: Path
    symbol: str | None = None
    range: SeedRange | None = None


class SeedTarget(Struct, forbid_unknown_fields=True, omit_defaults=True):
    """Where a navigation led (``line`` one-based)."""

    file_path: Path
    line: Annotated[int, Meta(ge=1)]
    symbol_kind: str | None = None


class _SeedEvent(
    Struct, tag_field="type", kw_only=True, forbid_unknown_fields=True, omit_defaults=True
):
    id: EventId | None = None
    """Optional: the server gives an event without one a stable id."""
    t: Timestamp
    session_id: SessionId


class SeedFileOpened(_SeedEvent, tag="file_opened"):
    file_path: Path
    language: str | None = None


class SeedGoToDefinition(_SeedEvent, tag="go_to_definition"):
    source: SeedSource
    target: SeedTarget | None = None
    latency_ms: NonNegFloat | None = None


class SeedFindReferences(_SeedEvent, tag="find_references"):
    source: SeedSource
    target: SeedTarget | None = None
    targets: list[SeedTarget] | None = None
    count: NonNegInt | None = None
    latency_ms: NonNegFloat | None = None


SeedHash = Annotated[str, Meta(min_length=1, max_length=128, pattern=NO_NUL)]


class SeedEdit(_SeedEvent, tag="edit"):
    file_path: Path
    op: Literal["insert", "delete", "replace"]
    patch_unified: str
    before_hash: SeedHash
    after_hash: SeedHash
    range: SeedRange | None = None


class SeedEditMade(SeedEdit, tag="edit_made"):
    """The seed's other name for an edit."""


class SeedTerminalCommand(_SeedEvent, tag="terminal_command"):
    cmd: str
    args: list[str] | None = None
    cwd: str | None = None
    exit_code: int | None = None
    duration_ms: NonNegFloat | None = None
    stdout: str | None = None
    stderr: str | None = None


class SeedThought(_SeedEvent, tag="thought"):
    raw: str
    tags: list[str] | None = None


class SeedCommitMade(_SeedEvent, tag="commit_made"):
    hash: SeedHash | None = None
    message: str | None = None
    files: list[str] | None = None
    branch: str | None = None


class SeedPushRemote(_SeedEvent, tag="push_remote"):
    remote: str | None = None
    branch: str | None = None
    url: str | None = None
    exit_code: int | None = None


class SeedPrOpened(_SeedEvent, tag="pr_opened"):
    url: str | None = None
    title: str | None = None
    number: int | None = None
    base: str | None = None
    head: str | None = None


SeedEvent: TypeAlias = (
    SeedFileOpened
    | SeedGoToDefinition
    | SeedFindReferences
    | SeedEdit
    | SeedEditMade
    | SeedTerminalCommand
    | SeedThought
    | SeedCommitMade
    | SeedPushRemote
    | SeedPrOpened
)
SEED_TYPES = frozenset(str(cls.__struct_config__.tag) for cls in get_args(SeedEvent))


class SeedDeveloper(Struct, forbid_unknown_fields=True, omit_defaults=True):
    name: str | None = None
    email: str | None = None
    experience_level: str | None = None
    ide: str | None = None
    os: str | None = None


class SeedTask(Struct, forbid_unknown_fields=True, omit_defaults=True):
    repository: str
    commit: str
    description: str | None = None
    branch: str | None = None
    test_image: str | None = None
    test_command: str | None = None
    complexity: str | None = None


class SeedEnvironment(Struct, forbid_unknown_fields=True, omit_defaults=True):
    os: str | None = None
    editor: str | None = None
    version: str | None = None
    plugins: list[str] | None = None
    workspace_size: NonNegInt | None = None


class SeedTestResults(Struct, omit_defaults=True):
    passed: int | None = None
    failed: int | None = None
    duration_ms: float | None = None


class SeedArtifacts(Struct, omit_defaults=True):
    final_patch: str | None = None
    test_results: SeedTestResults | None = None


class SeedQATests(Struct):
    """QA's test run as the seed shows it, with the counts always written (null: not
    computed)."""

    runner: str | None = None
    image: str | None = None
    command: str | None = None
    ok: bool = False
    stdout: str = ""
    stderr: str = ""
    exit_code: int | None = None
    passed: int | None = None
    failed: int | None = None
    skipped: int | None = None


class SeedQAJudge(Struct):
    model: str | None = None
    rubric_version: str | None = None
    scores: dict[str, float] = msgspec.field(default_factory=dict)
    overall: float | None = None
    comments: str | None = None


class SeedQA(Struct, omit_defaults=True):
    status: str | None = None
    tests: SeedQATests | None = None
    judge: SeedQAJudge | None = None


class SeedTrace(Struct, kw_only=True):
    """A whole document in the seed's shape, as ``?format=seed`` gives it."""

    trace_id: str
    created_at: datetime
    version: Literal["trace-1.0.0"] = SEED_VERSION
    status: str | None = None
    sealed_at: datetime | None = None
    developer: SeedDeveloper
    task: SeedTask
    environment: SeedEnvironment | None = None
    events: list[SeedEvent] = msgspec.field(default_factory=list)
    artifacts: SeedArtifacts | None = None
    qa: SeedQA | None = None


def seed_schema() -> dict[str, Any]:
    """JSON Schema (2020-12) of a trace in the seed's shape (``prtrace schema --dialect seed``)."""
    schema = msgspec.json.schema(SeedTrace)
    extension = {
        "type": "object",
        "description": "Only in the server's documents: what prtrace recorded that the "
        "seed has no field for, under prtrace's names",
    }
    for name, definition in schema.get("$defs", {}).items():
        if name.startswith("Seed") and "properties" in definition and "QA" not in name:
            definition["properties"][EXTENSION] = extension
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = f"https://prtrace.dev/schema/seed-{SEED_VERSION}.json"
    schema["title"] = f"the seed's trace {SEED_VERSION}"
    schema["description"] = (
        "Events may carry an `id` (the server gives one to those without). The server's "
        f"documents may add `status`, `sealed_at` and, for what the seed has no field for, "
        f"a `{EXTENSION}` object in any section or event."
    )
    return schema


# --- recognising it -----------------------------------------------------------------


_NATIVE_ONLY = frozenset(
    {"path", "source", "targets", "changes", "kind", "from_path", "new_name", "dialect"}
    | {"output_merged", "truncated", "output_bytes", "output_blob"}
)
"""Fields an event in the seed's dialect never has (its ``source`` is an object)."""


def is_seed_event(obj: Any) -> bool:
    """An event in the seed's dialect: a field only the seed has (``file_path``, a
    ``source`` object, type ``edit_made``), or no ``id`` and no field only prtrace has."""
    if not isinstance(obj, dict):
        return False
    if "file_path" in obj or isinstance(obj.get("source"), dict) or obj.get("type") == "edit_made":
        return True
    return "id" not in obj and not any(key in obj for key in _NATIVE_ONLY)


def is_seed_create(obj: Any) -> bool:
    """A ``POST /traces`` body in the seed's dialect: a developer without ``id``."""
    return (
        isinstance(obj, dict)
        and isinstance(obj.get("developer"), dict)
        and "id" not in obj["developer"]
    )


def is_seed_document(obj: Any) -> bool:
    """A whole document in the seed's shape (what :func:`document_to_seed` writes too)."""
    if not isinstance(obj, dict) or obj.get("version") != SEED_VERSION:
        return False
    events = obj.get("events")
    return is_seed_create(obj) or (
        isinstance(events, list) and any(is_seed_event(e) for e in events)
    )


# --- into prtrace's format ----------------------------------------------------------


def derived_event_id(seq: int, index: int) -> str:
    """The id of an event sent without one: its batch and place, so a retry gets the same."""
    return f"b{seq}.{index}"


def derive_developer_id(developer: Any) -> str | None:
    """A developer's id from what the seed sends: the email, else the name."""
    for value in (developer.get("email"), developer.get("name")):
        if isinstance(value, str) and value.strip() and "\x00" not in value:
            return value.strip()[:256]
    return None


def _position(p: SeedPosition) -> Position:
    return Position(line=p.line, character=p.col)


def _range(r: SeedRange | None) -> Range | None:
    return None if r is None else Range(start=_position(r.start), end=_position(r.end))


def _location(target: SeedTarget) -> Location:
    return Location(path=target.file_path, line=target.line)


def event_to_native(obj: dict[str, Any], seq: int, index: int, where: str = "") -> Event:
    """One seed event (parsed JSON) as a prtrace event; errors name ``where`` + the seed's
    path (``events[2].source.range.start.col``)."""
    try:
        seed = msgspec.convert(obj, SeedEvent)
    except msgspec.ValidationError as exc:
        error = split_msgspec_error(exc)
        field = ".".join(p for p in (where, error.field or "") if p) or None
        raise FormatError(error.message, field) from None
    extra: dict[str, Any] = {}
    common: dict[str, Any] = {
        "id": seed.id if seed.id is not None else derived_event_id(seq, index),
        "t": seed.t,
        "session_id": seed.session_id,
    }
    native: Any
    if isinstance(seed, SeedFileOpened):
        native = FileOpened(**common, path=seed.file_path, language=seed.language)
    elif isinstance(seed, (SeedGoToDefinition, SeedFindReferences)):
        targets = [seed.target] if seed.target is not None else []
        if isinstance(seed, SeedFindReferences) and seed.targets is not None:
            targets = [*targets, *seed.targets]
        kinds = [t.symbol_kind for t in targets]
        if any(k is not None for k in kinds):
            extra["symbol_kind"] = kinds
        nav: dict[str, Any] = {
            **common,
            "path": seed.source.file_path,
            "symbol": seed.source.symbol,
            "range": _range(seed.source.range),
            "targets": [_location(t) for t in targets],
            "latency_ms": seed.latency_ms,
        }
        if isinstance(seed, SeedFindReferences):
            native = FindReferences(**nav, count=seed.count or 0)
            if seed.count is None and "count" in obj:
                extra["count"] = None
        else:
            native = GoToDefinition(**nav)
    elif isinstance(seed, SeedEdit):  # and edit_made
        if isinstance(seed, SeedEditMade):
            extra["type"] = "edit_made"
        native = Edit(
            **common,
            path=seed.file_path,
            op=seed.op,
            patch_unified=seed.patch_unified,
            before_hash=seed.before_hash,
            after_hash=seed.after_hash,
            range=_range(seed.range),
        )
    elif isinstance(seed, SeedTerminalCommand):
        native = TerminalCommand(
            **common,
            cmd=seed.cmd,
            args=seed.args or [],
            cwd=seed.cwd,
            exit_code=seed.exit_code,
            duration_ms=seed.duration_ms,
            stdout=seed.stdout or "",
            stderr=seed.stderr or "",
        )
    elif isinstance(seed, SeedThought):
        native = Thought(**common, raw=seed.raw, tags=seed.tags or [])
    elif isinstance(seed, SeedCommitMade):
        commit_hash = seed.hash
        if commit_hash is not None and not _COMMIT_HASH.match(commit_hash):
            extra["hash"], commit_hash = commit_hash, None  # kept as given, not as a commit id
        native = CommitMade(
            **common,
            hash=commit_hash,
            message=seed.message or "",
            files=seed.files or [],
            branch=seed.branch,
        )
    elif isinstance(seed, SeedPushRemote):
        native = PushRemote(
            **common, remote=seed.remote, branch=seed.branch, url=seed.url, exit_code=seed.exit_code
        )
    else:
        assert isinstance(seed, SeedPrOpened)
        native = PrOpened(
            **common,
            url=seed.url,
            title=seed.title,
            number=seed.number,
            base=seed.base,
            head=seed.head,
        )
    # null sent for an optional field: given back as null
    for key, value in obj.items():
        if value is None and key not in extra:
            extra[key] = None
    native.dialect = Dialect(name=NAME, keys=list(obj), extra=extra)
    return native


def create_to_native(obj: dict[str, Any]) -> tuple[CreateTraceRequest, TraceDialect]:
    """A seed ``POST /traces`` body (developer without ``id``) as prtrace's request."""
    developer = dict(obj["developer"])
    derived = derive_developer_id(developer)
    if derived is None:
        raise FormatError(
            "a developer needs an email or a name (the server derives its id from them)",
            "developer.email",
        )
    keys = {
        section: list(obj[section])
        for section in ("developer", "task", "environment")
        if isinstance(obj.get(section), dict)
    }
    developer["id"] = derived
    request = convert({**obj, "developer": developer}, CreateTraceRequest)
    return request, TraceDialect(name=NAME, derived=["developer.id"], keys=keys)


def rederive(request: CreateTraceRequest, dialect: TraceDialect | None) -> CreateTraceRequest:
    """After redaction: derive the developer's id again from what is kept."""
    if dialect is not None and "developer.id" in dialect.derived:
        derived = derive_developer_id(msgspec.to_builtins(request.developer))
        if derived is not None:
            request.developer.id = derived
    return request


def document_to_native(obj: dict[str, Any]) -> Trace:
    """A whole seed-shaped document (a file, an export line) as a prtrace :class:`Trace`."""
    doc = dict(obj)
    dialect: TraceDialect | None = None
    if is_seed_create(doc):
        request, dialect = create_to_native(
            {k: _plain(doc[k]) for k in ("developer", "task", "environment") if k in doc}
        )
        doc["developer"], doc["task"], doc["environment"] = (
            msgspec.to_builtins(request.developer),
            msgspec.to_builtins(request.task),
            msgspec.to_builtins(request.environment),
        )
    events = []
    for i, event in enumerate(doc.get("events") or []):
        where = f"events[{i}]"
        if is_seed_event(event):
            events.append(msgspec.to_builtins(event_to_native(event, 0, i, where)))
        else:
            events.append(event)
    doc["events"] = events
    qa = doc.get("qa")
    if isinstance(qa, dict):  # the seed's qa has no status; the judge's is "done" when shown
        qa = dict(qa)
        if isinstance(qa.get("judge"), dict):
            qa["judge"] = {"status": "done", **qa["judge"]}
        doc["qa"] = qa
    for key in ("developer", "task", "environment", "artifacts", "qa"):
        if isinstance(doc.get(key), dict):
            doc[key] = {k: v for k, v in doc[key].items() if k != EXTENSION}
    trace = convert(doc, Trace)
    trace.dialect = trace.dialect or dialect
    return trace


def _plain(value: Any) -> Any:
    return {k: v for k, v in value.items() if k != EXTENSION} if isinstance(value, dict) else value


# --- into the seed's shape -----------------------------------------------------------

_PATHED = ("file_path",)
_SEED_FIELDS: dict[str, tuple[str, ...]] = {
    "file_opened": ("file_path", "language"),
    "go_to_definition": ("source", "target", "latency_ms"),
    "find_references": ("source", "target", "latency_ms"),
    "edit": ("file_path", "op", "range", "patch_unified", "before_hash", "after_hash"),
    "terminal_command": (
        "cmd",
        "args",
        "cwd",
        "exit_code",
        "duration_ms",
        "stdout",
        "stderr",
    ),
    "thought": ("raw", "tags"),
    "commit_made": ("hash", "message", "files", "branch"),
    "push_remote": ("remote", "branch", "url", "exit_code"),
    "pr_opened": ("url", "title", "number", "base", "head"),
}
_ALWAYS = {"terminal_command": ("args", "stdout", "stderr"), "thought": ("tags",)}
"""Shown for an event recorded natively even when empty, as the seed always has them."""


def _seed_range(r: Any) -> Any:
    if not isinstance(r, dict):
        return r
    return {
        end: {"line": r[end]["line"], "col": r[end]["character"]}
        for end in ("start", "end")
        if isinstance(r.get(end), dict)
    }


def _number(value: Any) -> Any:
    """``150.0`` as ``150``: the seed's integers came in as integers."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    return value


def event_to_seed(event: Any) -> dict[str, Any]:
    """A prtrace event (a Struct) in the seed's shape.

    An event the seed's client sent comes back with its keys as sent, in order
    (plus the ``id`` the server gave it); one recorded natively gets the seed's
    fields, and what the seed has no field for under ``prtrace``.
    """
    tag = str(type(event).__struct_config__.tag)
    values = {name: getattr(event, name) for name in event.__struct_fields__}
    dialect: Dialect | None = values.pop("dialect")
    values = msgspec.to_builtins(values)
    extra = dict(dialect.extra) if dialect else {}
    out: dict[str, Any] = {"id": values.pop("id"), "t": values.pop("t"), "type": tag}
    values.pop("type", None)
    out["session_id"] = values.pop("session_id")
    recorder = values.pop("source")  # the native recorder name, not the seed's ``source``
    seed: dict[str, Any] = {}
    if "path" in values:
        seed["file_path"] = values.pop("path")
    if "range" in values:
        seed["range"] = _seed_range(values.pop("range"))
    if tag in ("go_to_definition", "find_references"):
        source = {"file_path": seed.pop("file_path"), "symbol": values.pop("symbol")}
        source["range"] = seed.pop("range", None)
        seed["source"] = {k: v for k, v in source.items() if v is not None}
        targets = values.pop("targets") or []
        kinds = extra.pop("symbol_kind", [None] * len(targets))
        shown = [
            {
                "file_path": t["path"],
                "line": t["line"],
                **({"symbol_kind": kinds[i]} if i < len(kinds) and kinds[i] is not None else {}),
            }
            for i, t in enumerate(targets)
        ]
        keys = dialect.keys if dialect else []
        if "target" in keys or (not dialect and shown):
            seed["target"] = shown[0] if shown else None
            shown = shown[1:]
        if "targets" in keys or (not dialect and shown):
            seed["targets"] = shown
        if tag == "find_references" and "count" in keys:
            seed["count"] = values.pop("count")
        seed["latency_ms"] = _number(values.pop("latency_ms"))
    for name in _SEED_FIELDS.get(tag, tuple(values)):
        if name in values:
            seed[name] = _number(values.pop(name)) if name == "duration_ms" else values.pop(name)
    seed.update({k: v for k, v in extra.items() if k not in ("type",)})
    if "type" in extra:
        out["type"] = extra["type"]
    if dialect is not None:
        given: dict[str, Any] = {} if "id" in dialect.keys else {"id": out["id"]}
        for key in dialect.keys:
            given[key] = out[key] if key in out else seed.get(key)
        return given
    always = _ALWAYS.get(tag, ())
    for name, value in seed.items():
        if value is not None and (name in always or value not in ("", [], {})):
            out[name] = value
    rest = {k: v for k, v in values.items() if v is not None and v not in ("", [], {}, False)}
    if recorder is not None:
        rest["source"] = recorder
    if tag == "edit" and rest.get("changes") == 1:
        rest.pop("changes")
    if tag == "go_to_definition" and rest.get("kind") == "definition":
        rest.pop("kind")
    if tag == "find_references" and rest.get("count") == 0:
        rest.pop("count")
    if rest:
        out[EXTENSION] = rest
    return out


_SECTION_FIELDS = {
    "developer": tuple(SeedDeveloper.__struct_fields__),
    "task": tuple(SeedTask.__struct_fields__),
    "environment": tuple(SeedEnvironment.__struct_fields__),
}


def _section(name: str, native: dict[str, Any], dialect: TraceDialect | None) -> dict[str, Any]:
    if dialect is not None and name in dialect.keys:
        defaults: dict[str, Any] = {"plugins": []}
        return {k: native.get(k, defaults.get(k)) for k in dialect.keys[name]}
    fields = _SECTION_FIELDS[name]
    out = {k: native[k] for k in fields if k in native}
    rest = {k: v for k, v in native.items() if k not in fields}
    if dialect is not None and name == "developer" and "developer.id" in dialect.derived:
        rest.pop("id", None)
    if rest:
        out[EXTENSION] = rest
    return out


def qa_to_seed(qa: dict[str, Any] | None) -> dict[str, Any]:
    """``qa`` as the seed shows it: ``tests`` with the counts always there, ``judge``."""
    out: dict[str, Any] = {}
    if not isinstance(qa, dict):
        return out
    if qa.get("status") is not None:
        out["status"] = qa["status"]
    tests = qa.get("tests")
    if isinstance(tests, dict):
        out["tests"] = {k: tests.get(k, d) for k, d in _QA_TESTS_DEFAULTS.items()}
    judge = qa.get("judge")
    if isinstance(judge, dict):
        out["judge"] = {k: judge.get(k, d) for k, d in _QA_JUDGE_DEFAULTS.items()}
    return out


_QA_TESTS_DEFAULTS: dict[str, Any] = {
    "runner": None,
    "image": None,
    "command": None,
    "ok": False,
    "stdout": "",
    "stderr": "",
    "exit_code": None,
    "passed": None,
    "failed": None,
    "skipped": None,
}
_QA_JUDGE_DEFAULTS: dict[str, Any] = {
    "model": None,
    "rubric_version": None,
    "scores": {},
    "overall": None,
    "comments": None,
}

_event_decoder = msgspec.json.Decoder(Event)


def document_to_seed(doc: dict[str, Any]) -> dict[str, Any]:
    """A prtrace document (parsed JSON) in the seed's shape, ``version: trace-1.0.0``."""
    dialect = convert(doc["dialect"], TraceDialect) if doc.get("dialect") else None
    out: dict[str, Any] = {
        "trace_id": doc["trace_id"],
        "created_at": doc["created_at"],
        "version": SEED_VERSION,
    }
    for key in ("status", "sealed_at"):
        if doc.get(key) is not None:
            out[key] = doc[key]
    out["developer"] = _section("developer", doc.get("developer") or {}, dialect)
    out["task"] = _section("task", doc.get("task") or {}, dialect)
    if dialect is None or "environment" in dialect.keys:
        out["environment"] = _section("environment", doc.get("environment") or {}, dialect)
    events = convert(doc.get("events") or [], list[Event])
    out["events"] = [event_to_seed(e) for e in events]
    out["artifacts"] = _artifacts(doc.get("artifacts") or {})
    out["qa"] = qa_to_seed(doc.get("qa"))
    return out


def _artifacts(native: dict[str, Any]) -> dict[str, Any]:
    """The artifacts as sent; the server's ``attribution`` (the seed has none) under ``prtrace``."""
    out = {k: v for k, v in native.items() if k != "attribution"}
    if native.get("attribution") is not None:
        out[EXTENSION] = {"attribution": native["attribution"]}
    return out


def document_bytes_to_seed(body: bytes) -> bytes:
    """:func:`document_to_seed` from and to JSON bytes (what the API and export use)."""
    return msgspec.json.encode(document_to_seed(msgspec.json.decode(body)))
