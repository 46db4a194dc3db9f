"""Trace events: a tagged union on ``type``.

Every event carries ``id`` (unique in its trace), ``t`` (an RFC 3339 time with
a zone), ``session_id`` (which recorder process wrote it) and optionally
``source`` (``lsp``, ``fs``, ``shell``, ``run``, ``hook``, ``git``, ``cli``).

Conventions, kept the same in every event type:

* ``path`` is the workspace-relative POSIX path of a file (absolute only when
  the file is outside the workspace).
* ``range`` is zero-based, like LSP: ``line`` and ``character`` count from 0,
  ``character`` in the position encoding the editor negotiated (UTF-16 unless
  the trace says otherwise).
* ``line`` (in a :class:`Location`) is one-based, like git and editors show it.
* hashes are the lowercase hex sha256 of the whole text (see
  :mod:`prtrace.hashing`), so each file's ``after_hash`` is its next
  ``before_hash``.

Unknown fields are rejected rather than dropped: a recorder that sends a field
the server does not know should hear about it, not lose data silently.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal, TypeAlias, get_args

import msgspec
from msgspec import Meta, Struct

NO_NUL = "^[^\\x00]*$"
"""Identifiers and keys are stored in text columns, where PostgreSQL refuses NUL."""
NUL_REFUSED = "Expected `str` without the NUL character (\\u0000)"
"""What a string with NUL where :data:`NO_NUL` applies is told (``prtrace.codec``)."""
EventId = Annotated[str, Meta(min_length=1, max_length=128, pattern=NO_NUL)]
_NoNul = Meta(extra_json_schema={"pattern": NO_NUL})
""":data:`NO_NUL` for the fields every event has, checked by ``__post_init__``
instead of by msgspec (:class:`_Event`): the same rule and schema, at a tenth of
the cost."""
Sha256 = Annotated[str, Meta(pattern="^[0-9a-f]{64}$", description="hex sha256 of the text")]
EditHash = Annotated[
    str,
    Meta(
        min_length=1,
        max_length=128,
        description="hex sha256 of the text; another client's hash is kept as given "
        "(replay then reports the chain as unverifiable)",
    ),
    _NoNul,
]
Timestamp = Annotated[datetime, Meta(tz=True, description="RFC 3339 time with a zone")]
NonNegInt = Annotated[int, Meta(ge=0)]
NonNegFloat = Annotated[float, Meta(ge=0)]
Path = Annotated[str, Meta(min_length=1, max_length=4096)]


class Position(Struct, forbid_unknown_fields=True):
    """A zero-based position, as in LSP."""

    line: NonNegInt
    character: NonNegInt


class Range(Struct, forbid_unknown_fields=True):
    start: Position
    end: Position


class Location(Struct, forbid_unknown_fields=True, omit_defaults=True):
    """A place in a file: ``line`` is one-based, ``range`` zero-based."""

    path: Path
    line: Annotated[int, Meta(ge=1)]
    range: Range | None = None


class DiagnosticItem(Struct, forbid_unknown_fields=True, omit_defaults=True):
    range: Range
    severity: Literal["error", "warning", "information", "hint"]
    message: str
    source: str | None = None
    code: str | None = None


class Dialect(Struct, forbid_unknown_fields=True, omit_defaults=True):
    """An event a client sent in another dialect (docs/trace-format.md): what it takes
    to give the event back exactly as sent (:mod:`prtrace.dialects`)."""

    name: Literal["seed"]
    keys: list[str] = msgspec.field(default_factory=list)
    """The event's fields as the client sent them, in its order."""
    extra: dict[str, Any] = msgspec.field(default_factory=dict)
    """What the client sent that has no field here, as sent."""


class _Event(
    Struct,
    tag_field="type",
    kw_only=True,
    forbid_unknown_fields=True,
    omit_defaults=True,
):
    """Fields every event has."""

    id: Annotated[str, Meta(min_length=1, max_length=128), _NoNul]
    t: Timestamp
    session_id: Annotated[str, Meta(min_length=1, max_length=128), _NoNul]
    source: str | None = None
    dialect: Dialect | None = None

    def __post_init__(self) -> None:
        """:data:`NO_NUL` on ``id`` and ``session_id``: as a ``pattern``, msgspec runs a
        regular expression on each, half of what validating an event costs."""
        if "\x00" in self.id or "\x00" in self.session_id:
            _refuse_nul(self, "id", "session_id")


def _refuse_nul(event: Struct, *names: str) -> None:
    """The error for the first of ``names`` that holds NUL (``prtrace.codec`` moves
    the field's name into the error's path, as msgspec's own errors have it)."""
    for name in names:
        if "\x00" in getattr(event, name):
            raise ValueError(f"{NUL_REFUSED} in field `{name}`")


# --- provenance ---------------------------------------------------------------


class Author(Struct, forbid_unknown_fields=True, omit_defaults=True):
    """Who made a change (docs/recorder.md, "Who wrote each change").

    ``human``: typed in an editor (LSP proxy, editor extension); ``agent``: an AI
    coding agent's tool call (``agent``, ``model``, and ``event_id`` the
    ``agent_tool_call``); ``command``: a file changed while a terminal command ran
    (``event_id`` the ``terminal_command``); ``unknown``: none of these is known.
    """

    kind: Literal["human", "agent", "command", "unknown"]
    agent: str | None = None
    model: str | None = None
    event_id: EventId | None = None


# --- editor (LSP proxy) -----------------------------------------------------


class FileOpened(_Event, tag="file_opened"):
    path: Path
    language: str | None = None
    version: int | None = None
    hash: Sha256 | None = None
    size: NonNegInt | None = None


class FileClosed(_Event, tag="file_closed"):
    path: Path


class FileSaved(_Event, tag="file_saved"):
    path: Path
    hash: Sha256 | None = None


class Edit(_Event, tag="edit"):
    """A burst of changes to one file, coalesced into one unified diff."""

    path: Path
    op: Literal["insert", "delete", "replace"]
    patch_unified: str
    before_hash: EditHash
    after_hash: EditHash
    range: Range | None = None
    changes: Annotated[int, Meta(ge=1)] = 1
    version: int | None = None
    author: Author | None = None

    def __post_init__(self) -> None:
        """:class:`_Event`'s check, and :data:`NO_NUL` on the hashes."""
        super().__post_init__()
        if "\x00" in self.before_hash or "\x00" in self.after_hash:
            _refuse_nul(self, "before_hash", "after_hash")


class GoToDefinition(_Event, tag="go_to_definition"):
    path: Path
    symbol: str | None = None
    range: Range | None = None
    kind: Literal["definition", "declaration", "typeDefinition", "implementation"] = "definition"
    targets: list[Location] = msgspec.field(default_factory=list)
    latency_ms: NonNegFloat | None = None


class FindReferences(_Event, tag="find_references"):
    path: Path
    symbol: str | None = None
    range: Range | None = None
    count: NonNegInt = 0
    files: list[str] = msgspec.field(default_factory=list)
    targets: list[Location] = msgspec.field(default_factory=list)
    latency_ms: NonNegFloat | None = None


class Rename(_Event, tag="rename"):
    path: Path
    new_name: str
    symbol: str | None = None
    range: Range | None = None
    files: list[str] = msgspec.field(default_factory=list)
    edits: NonNegInt = 0


class CodeAction(_Event, tag="code_action"):
    path: Path
    title: str
    kind: str | None = None
    range: Range | None = None
    files: list[str] = msgspec.field(default_factory=list)


class Diagnostics(_Event, tag="diagnostics"):
    """Emitted when a file's error/warning counts change."""

    path: Path
    errors: NonNegInt = 0
    warnings: NonNegInt = 0
    information: NonNegInt = 0
    hints: NonNegInt = 0
    items: list[DiagnosticItem] = msgspec.field(default_factory=list)


# --- file system ------------------------------------------------------------


class FileCreated(_Event, tag="file_created"):
    path: Path
    hash: Sha256 | None = None
    size: NonNegInt | None = None
    binary: bool = False
    patch_unified: str | None = None
    author: Author | None = None


class FileDeleted(_Event, tag="file_deleted"):
    path: Path
    before_hash: Sha256 | None = None
    author: Author | None = None


class FileChanged(_Event, tag="file_changed"):
    path: Path
    before_hash: Sha256 | None = None
    after_hash: Sha256 | None = None
    size: NonNegInt | None = None
    binary: bool = False
    patch_unified: str | None = None
    author: Author | None = None


class FileMoved(_Event, tag="file_moved"):
    path: Path
    from_path: Path
    hash: Sha256 | None = None
    author: Author | None = None


# --- terminal ---------------------------------------------------------------


class TerminalCommand(_Event, tag="terminal_command"):
    """One command. A PTY merges stdout and stderr: then ``output_merged``."""

    cmd: str
    args: list[str] = msgspec.field(default_factory=list)
    cwd: str | None = None
    exit_code: int | None = None
    duration_ms: NonNegFloat | None = None
    stdout: str = ""
    stderr: str = ""
    output_merged: bool = False
    truncated: bool = False
    output_bytes: NonNegInt | None = None
    output_blob: str | None = None


class Thought(_Event, tag="thought"):
    """A note the developer wrote (``prtrace note``)."""

    raw: str
    tags: list[str] = msgspec.field(default_factory=list)


# --- git --------------------------------------------------------------------


class CommitMade(_Event, tag="commit_made"):
    hash: Annotated[str, Meta(pattern="^[0-9a-f]{7,64}$")] | None = None
    message: str = ""
    files: list[str] = msgspec.field(default_factory=list)
    branch: str | None = None


class BranchSwitched(_Event, tag="branch_switched"):
    to_branch: str
    from_branch: str | None = None
    hash: str | None = None


class PushRemote(_Event, tag="push_remote"):
    remote: str | None = None
    branch: str | None = None
    url: str | None = None
    exit_code: int | None = None


class PrOpened(_Event, tag="pr_opened"):
    url: str | None = None
    title: str | None = None
    number: int | None = None
    base: str | None = None
    head: str | None = None


# --- AI coding agents (their hooks) ------------------------------------------


class AgentSession(_Event, tag="agent_session"):
    """An agent session began (``start``), finished a turn (``stop``) or ended (``end``)."""

    agent: str
    """The agent's dialect name: ``claude-code``, ``cursor``…"""
    agent_session_id: str | None = None
    phase: Literal["start", "stop", "end"] = "start"
    version: str | None = None
    model: str | None = None
    reason: str | None = None
    """Why it started or ended (``startup``, ``resume``, ``clear``, ``logout``…)."""
    message: str | None = None
    """The agent's last message of the turn (``stop``), capped."""
    cwd: str | None = None


class AgentPrompt(_Event, tag="agent_prompt"):
    """What the developer asked the agent (redacted like every string)."""

    agent: str
    prompt: str
    agent_session_id: str | None = None
    model: str | None = None
    truncated: bool = False


class AgentToolCall(_Event, tag="agent_tool_call"):
    """One tool call of an agent: a bounded summary of its input and its result."""

    agent: str
    tool: str
    agent_session_id: str | None = None
    tool_use_id: str | None = None
    model: str | None = None
    input: str = ""
    """A summary of the input: Bash's command, Write's and Edit's path, else capped JSON."""
    output: str = ""
    """A summary of the result: Bash's output (capped like terminal commands), else capped."""
    exit_code: int | None = None
    duration_ms: NonNegFloat | None = None
    files: list[str] = msgspec.field(default_factory=list)
    """Workspace-relative paths the call wrote (Write, Edit, MultiEdit…)."""
    status: Literal["ok", "error", "denied", "incomplete"] = "ok"
    truncated: bool = False


Event: TypeAlias = (
    FileOpened
    | FileClosed
    | FileSaved
    | Edit
    | GoToDefinition
    | FindReferences
    | Rename
    | CodeAction
    | Diagnostics
    | FileCreated
    | FileDeleted
    | FileChanged
    | FileMoved
    | TerminalCommand
    | Thought
    | CommitMade
    | BranchSwitched
    | PushRemote
    | PrOpened
    | AgentSession
    | AgentPrompt
    | AgentToolCall
)

EVENT_TYPES: dict[str, type[_Event]] = {cls.__struct_config__.tag: cls for cls in get_args(Event)}

# Fields large enough to go to the blob store when over the threshold.
LARGE_TEXT_FIELDS: tuple[str, ...] = ("stdout", "stderr", "patch_unified")

CHANGE_EVENT_TYPES: tuple[str, ...] = (
    "edit",
    "file_created",
    "file_changed",
    "file_deleted",
    "file_moved",
)
"""The events that change a file's content; each may carry an :class:`Author`."""
AGENT_EVENT_TYPES: tuple[str, ...] = ("agent_session", "agent_prompt", "agent_tool_call")
