"""The trace document, prtrace's own format (``prtrace.TRACE_FORMAT_VERSION``).

A trace is one developer's session on one task: who (``developer``), what
(``task``: repository, commit, how to run its tests), where (``environment``),
what happened (``events``), what came out (``artifacts``) and what QA found
(``qa``). ``GET /traces/{id}`` returns exactly this document.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta, Struct

from prtrace import TRACE_FORMAT_VERSION
from prtrace.attribution import Attribution
from prtrace.events import NO_NUL, Event, Timestamp

ShortText = Annotated[str, Meta(max_length=1024)]
TraceStatus = Literal["open", "sealed"]


class Developer(Struct, forbid_unknown_fields=True, omit_defaults=True):
    id: Annotated[str, Meta(min_length=1, max_length=256, pattern=NO_NUL)]
    name: ShortText | None = None
    email: ShortText | None = None
    experience_level: ShortText | None = None
    """The seed's ``junior``/``mid``/``senior``; kept as given."""
    ide: ShortText | None = None
    os: ShortText | None = None


class Task(Struct, forbid_unknown_fields=True, omit_defaults=True):
    """The bug to fix: a repository at a commit, and how to run its tests."""

    repository: Annotated[str, Meta(min_length=1, max_length=4096, pattern=NO_NUL)]
    commit: Annotated[str, Meta(min_length=4, max_length=64, pattern=NO_NUL)]
    branch: ShortText | None = None
    id: ShortText | None = None
    title: ShortText | None = None
    description: str | None = None
    test_image: ShortText | None = None
    test_command: str | None = None
    fail_to_pass: list[str] = msgspec.field(default_factory=list)
    # --- added for SWE-bench tasks (issue 18); all optional ---
    test_patch: str | None = None
    """Test files QA applies before both runs (SWE-bench's ``test_patch``): the task's
    tests replace the developer's copy of those files."""
    pass_to_pass: list[str] = msgspec.field(default_factory=list)
    hints_text: str | None = None
    extra: dict[str, str] = msgspec.field(default_factory=dict)
    """Other fields of an imported task (``version``, ``environment_setup_commit``,
    ``created_at`` of a SWE-bench instance), kept for the dataset built back from it."""
    complexity: ShortText | None = None
    """The seed's ``low``/``medium``/``high``; kept as given."""


class Environment(Struct, forbid_unknown_fields=True, omit_defaults=True):
    os: ShortText | None = None
    editor: ShortText | None = None
    shell: ShortText | None = None
    language_servers: list[str] = msgspec.field(default_factory=list)
    recorder_version: ShortText | None = None
    position_encoding: Literal["utf-8", "utf-16", "utf-32"] = "utf-16"
    extra: dict[str, str] = msgspec.field(default_factory=dict)
    version: ShortText | None = None
    """The editor's (or recorder's) version, as the seed's clients send it."""
    plugins: list[str] = msgspec.field(default_factory=list)
    workspace_size: Annotated[int, Meta(ge=0)] | None = None


class TraceDialect(Struct, forbid_unknown_fields=True, omit_defaults=True):
    """A trace created in another dialect (docs/trace-format.md, :mod:`prtrace.dialects`)."""

    name: Literal["seed"]
    derived: list[str] = msgspec.field(default_factory=list)
    """Fields the server filled in because the client had none (``developer.id``)."""
    keys: dict[str, list[str]] = msgspec.field(default_factory=dict)
    """Per object (``developer``, ``task``, ``environment``): its fields as sent, in order."""


class Artifacts(Struct, forbid_unknown_fields=True, omit_defaults=True):
    final_patch: str | None = None
    test_results: Any = None
    attribution: Attribution | None = None
    """Who wrote each added line of ``final_patch`` (:mod:`prtrace.attribution`)."""


class TestCounts(Struct, omit_defaults=True):
    passed: int = 0
    failed: int = 0
    exit_code: int | None = None


class HunkResult(Struct, omit_defaults=True):
    """One hunk of the final patch on the rung that applied it (or on the last rung tried)."""

    path: str
    hunk: int
    """1-based, within its file."""
    header: str
    """The ``@@ … @@`` header as the patch wrote it."""
    applied: bool = False
    line: int | None = None
    """Where it applied in the old file (the header's line unless moved)."""
    offset: int = 0
    fuzz: int = 0
    recounted: str | None = None
    """The header counted from the hunk's body, when the written counts were wrong."""
    problem: str | None = None
    """Why it did not apply, naming the line."""


class PatchApplication(Struct, omit_defaults=True):
    method: str | None = None
    applied: bool = False
    rejected_hunks: int = 0
    detail: str | None = None
    strip: int | None = None
    """The ``-p`` level used: 1 for ``a/``/``b/`` names, 0 for bare ones."""
    tried: list[str] = msgspec.field(default_factory=list)
    """The rungs tried, in order, the last one the one that applied it (if any)."""
    hunks: list[HunkResult] = msgspec.field(default_factory=list)
    normalized: list[str] = msgspec.field(default_factory=list)
    """What the rung changed to read the patch besides counts (line endings, markers)."""
    unverifiable: list[str] = msgspec.field(default_factory=list)
    """Ids of the trace's edits whose hashes are not sha256 (another client's): their
    chain cannot be checked, so a patch rebuilt from them is unverified."""


class QAError(Struct, omit_defaults=True):
    kind: Literal["patch_failed", "image_missing", "timeout", "oom", "infrastructure"]
    message: str


class TestsResult(Struct):
    """What QA's test run found (filled in by :mod:`qa`).

    Every field is always written: ``ok: false`` and ``failed: 0`` are results,
    and null (``passed``, ``failed``, ``skipped``, ``exit_code``) is "not computed"
    (the run never happened, or its output could not be counted).
    """

    runner: str | None = None
    image: str | None = None
    command: str | None = None
    ok: bool = False
    stdout: str = ""
    stderr: str = ""
    exit_code: int | None = None
    duration_ms: float | None = None
    passed: int | None = None
    failed: int | None = None
    skipped: int | None = None
    verdict: str | None = None
    fail_to_pass: list[str] = msgspec.field(default_factory=list)
    pass_to_pass: list[str] = msgspec.field(default_factory=list)
    pass_to_fail: list[str] = msgspec.field(default_factory=list)
    baseline: TestCounts | None = None
    patch: PatchApplication | None = None
    error: QAError | None = None


class JudgeUsage(Struct, omit_defaults=True):
    """What one judgement cost: only requests actually sent (cache hits cost nothing)."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float | None = None
    calls: int = 0
    """HTTP requests sent, retries and repairs included."""
    cached_samples: int = 0
    """Samples answered from the judge's cache."""


class JudgeResult(Struct, omit_defaults=True):
    """The LLM judge's scores (filled in by :mod:`qa`)."""

    status: Literal["done", "skipped", "error"]
    model: str | None = None
    rubric_version: str | None = None
    scores: dict[str, float] = msgspec.field(default_factory=dict)
    overall: float | None = None
    comments: str | None = None
    evidence: dict[str, list[str]] = msgspec.field(default_factory=dict)
    samples: int = 1
    spread: dict[str, float] = msgspec.field(default_factory=dict)
    grounded: bool | None = None
    usage: JudgeUsage | None = None
    reason: str | None = None
    # --- added by the judge (issue 6); all optional, so older documents still decode ---
    rubric_id: str | None = None
    rubric_hash: str | None = None
    trace_digest: str | None = None
    """sha256 of the exact prompt (the trace as the judge saw it, with the test results)."""
    low_confidence: bool = False
    """True when samples disagree by at least the rubric's ``disagreement`` on a dimension."""
    ungrounded: list[str] = msgspec.field(default_factory=list)
    """Dimensions with no valid citation or with a citation of an unknown event."""
    unknown_citations: dict[str, list[str]] = msgspec.field(default_factory=dict)
    rationale: dict[str, str] = msgspec.field(default_factory=dict)
    sample_scores: list[dict[str, int]] = msgspec.field(default_factory=list)
    output_mode: str | None = None
    """How the answer came: ``json_schema``, ``json_object`` or ``text``."""
    judged_at: datetime | None = None


class QA(Struct, omit_defaults=True):
    status: Literal["none", "queued", "running", "done", "error"] = "none"
    tests: TestsResult | None = None
    judge: JudgeResult | None = None
    updated_at: datetime | None = None


class Trace(Struct, kw_only=True):
    """The whole document; every top-level field is always written (no omitted defaults)."""

    trace_id: str
    created_at: Timestamp
    version: str = TRACE_FORMAT_VERSION
    status: TraceStatus = "open"
    sealed_at: datetime | None = None
    developer: Developer
    task: Task
    environment: Environment = msgspec.field(default_factory=Environment)
    events: list[Event] = msgspec.field(default_factory=list)
    artifacts: Artifacts = msgspec.field(default_factory=Artifacts)
    qa: QA = msgspec.field(default_factory=QA)
    dialect: TraceDialect | None = None
    """Only for a trace created in another dialect (the seed's): what reading it back needs."""
