"""Request and response bodies of the REST API, shared by server and client.

The server validates with these exact types, and the client builds requests
from them, so the two cannot drift apart. ``docs/api.md`` documents them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec
from msgspec import Meta, Struct

from prtrace.events import Event
from prtrace.trace import Artifacts, Developer, Environment, JudgeResult, Task, TraceStatus

MAX_BATCH_EVENTS = 5000
"""Most events one ``POST /traces/{id}/events`` may carry."""

MAX_BODY_BYTES = 32 * 1024 * 1024
"""Largest request body the API accepts (413 above it)."""


class CreateTraceRequest(Struct, forbid_unknown_fields=True, kw_only=True):
    developer: Developer
    task: Task
    environment: Environment = msgspec.field(default_factory=Environment)


class CreateTraceResponse(Struct, kw_only=True):
    trace_id: str
    upload_token: str
    status: TraceStatus = "open"


BatchSeq = Annotated[int, Meta(ge=0, le=2**53)]


class EventBatch(Struct, forbid_unknown_fields=True, kw_only=True):
    """One upload: ``seq`` numbers the batch so a retry is recognised."""

    seq: BatchSeq
    events: Annotated[list[Event], Meta(max_length=MAX_BATCH_EVENTS)]


class RawEventBatch(Struct, forbid_unknown_fields=True, kw_only=True):
    """An :class:`EventBatch` with each event still as its JSON bytes.

    The server validates each event on its own and stores the bytes as sent,
    which spares re-encoding every event on the ingest path.
    """

    seq: BatchSeq
    events: Annotated[list[msgspec.Raw], Meta(max_length=MAX_BATCH_EVENTS)]


class BatchAccepted(Struct, kw_only=True):
    trace_id: str
    seq: int
    accepted: int
    duplicate: bool = False
    """True when this exact batch had been stored already (a retry)."""


class FinalizeRequest(Struct, forbid_unknown_fields=True, kw_only=True):
    artifacts: Artifacts | None = None


class FinalizeResponse(Struct, kw_only=True):
    trace_id: str
    status: TraceStatus
    events: int
    sealed_at: datetime | None = None
    qa_job_id: str | None = None


class TraceSummary(Struct, kw_only=True, omit_defaults=True):
    trace_id: str
    created_at: datetime
    status: TraceStatus
    developer_id: str
    repository: str
    commit: str
    events: int
    sealed_at: datetime | None = None
    qa_status: str = "none"
    verdict: str | None = None
    overall: float | None = None


class TraceList(Struct, kw_only=True):
    traces: list[TraceSummary]
    next_cursor: str | None = None


class StoredEventList(Struct, kw_only=True):
    events: list[Event]
    next_after: str | None = None
    """Pass as ``after`` to get the next page; null on the last page."""


class JobAccepted(Struct, kw_only=True):
    job_id: str
    status: Literal["queued", "running", "done", "error"] = "queued"


class JobStatus(Struct, kw_only=True, omit_defaults=True):
    job_id: str
    kind: str
    status: Literal["queued", "running", "done", "error"]
    attempts: int
    trace_id: str | None = None
    error: str | None = None


class ErrorBody(Struct, kw_only=True, omit_defaults=True):
    status_code: int
    detail: str
    field: str | None = None
    """JSON path of the offending value, e.g. ``events[3].range.start.line``."""


class Health(Struct, kw_only=True):
    status: Literal["ok"]
    version: str
    database: str
    blobs: str


# --- the LLM judge (docs/judge.md) ---------------------------------------------------


class JudgeRequest(Struct, forbid_unknown_fields=True, kw_only=True, omit_defaults=True):
    """``POST /traces/{id}/judge``: judge again; what is left out comes from the settings."""

    model: Annotated[str, Meta(min_length=1, max_length=256)] | None = None
    rubric: Annotated[str, Meta(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")] | None = None
    samples: Annotated[int, Meta(ge=1, le=10)] | None = None


class Judgement(Struct, kw_only=True):
    """One judgement kept in a trace's history."""

    judgement_id: str
    trace_id: str
    created_at: datetime
    result: JudgeResult
    job_id: str | None = None


class JudgementList(Struct, kw_only=True):
    judgements: list[Judgement]
    """Newest first; the first is the trace's ``qa.judge``."""


class TraceDeleted(msgspec.Struct, kw_only=True):
    """``DELETE /traces/{id}``: what was removed (docs/privacy.md)."""

    trace_id: str
    events: int
    batches: int
    jobs: int
    judgements: int
    blobs_deleted: int
    """Blobs only this trace used: its large fields, sealed document and QA logs."""
    blobs_kept: int
    """Content-addressed blobs another trace still references."""
