"""``/traces``: create, upload events, finalize, read, list, queue QA."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Request, Response, delete, get, post
from litestar.di import Provide
from litestar.params import Parameter, QueryParameter

from prtrace.api_types import CreateTraceRequest, FinalizeRequest, JobAccepted
from prtrace.backend.errors import ApiError
from prtrace.backend.ingest import TakeWholePath
from prtrace.backend.routes.common import JSON, decode_body, require_api_token, require_trace_writer
from prtrace.backend.storage.queries import (
    EventFilters,
    TraceFilters,
    event_filters_from_query,
    trace_filters_from_query,
)
from prtrace.codec import decode
from prtrace.dialects import DIALECTS, seed
from prtrace.errors import FormatError
from prtrace.redaction import redact_struct
from prtrace.trace import TraceDialect

_encode = msgspec.json.Encoder().encode


def _json(payload: object, status_code: int = 200) -> Response:
    return Response(content=_encode(payload), status_code=status_code, media_type=JSON)


@post("/traces", status_code=201, summary="Create a trace; returns its upload token")
async def create_trace(request: Request) -> Response:
    svc = await require_api_token(request)
    body, dialect = await _create_body(request)
    body = seed.rederive(redact_struct(body), dialect)
    return _json(await svc.traces.create(body, dialect), 201)


async def _create_body(request: Request) -> tuple[CreateTraceRequest, TraceDialect | None]:
    """prtrace's request, or the seed's (a developer without ``id``: docs/trace-format.md)."""
    raw = await request.body()
    try:
        try:
            return decode(raw, CreateTraceRequest), None
        except FormatError as exc:
            if exc.syntax:
                raise
            parsed = msgspec.json.decode(raw)
            if not seed.is_seed_create(parsed):
                raise
            return seed.create_to_native(parsed)
    except FormatError as exc:
        raise ApiError.from_format(exc, 400 if exc.syntax else 422) from None


FormatParam = Annotated[
    str, QueryParameter(name="format", description="native (prtrace's own) or seed (trace-1.0.0)")
]


def _shaped(body: bytes, dialect: str) -> bytes:
    return seed.document_bytes_to_seed(body) if dialect == "seed" else body


def _check_format(dialect: str) -> None:
    if dialect not in DIALECTS:
        raise ApiError(400, f"format must be one of {', '.join(DIALECTS)}", "format")


@post("/traces/{trace_id:str}/events", status_code=200, summary="Append a batch of events")
async def upload_events(request: Request, trace_id: str) -> Response:
    svc = await require_trace_writer(request, trace_id)
    body = await request.body()
    parts = None if svc.db.is_sqlite else svc.decoder.parts(body, trace_id, svc.traces.threshold)
    if parts is not None:  # PostgreSQL, decoder processes, a large batch: overlap them
        try:
            return _json(await svc.traces.append_parts(trace_id, parts))
        except TakeWholePath:
            pass  # nothing was written; the whole batch's path gives the answer
    try:
        decoded = await svc.decoder.decode(body)
    except FormatError as exc:
        raise ApiError.from_format(exc, 400 if exc.syntax else 422) from None
    return _json(await svc.traces.append_decoded(trace_id, decoded))


@post("/traces/{trace_id:str}/finalize", status_code=200, summary="Seal a trace")
async def finalize_trace(request: Request, trace_id: str) -> Response:
    svc = await require_trace_writer(request, trace_id)
    body = await decode_body(request, FinalizeRequest, optional=True)
    if body is not None:
        body = redact_struct(body)  # the final patch, like events (docs/privacy.md)
        await _attribute(svc, trace_id, body)
    result = await svc.traces.finalize(trace_id, body)
    if result.qa_job_id:
        svc.queue.wakeup.set()
    return _json(result)


async def _attribute(svc: Any, trace_id: str, body: FinalizeRequest) -> None:
    """A final patch sent without its attribution gets one from the stored events.

    Also when the trace is sealed already: a retried finalize must carry the same
    artifacts as the first, attribution included, to be the idempotent no-op it is
    (the events of a sealed trace do not change, so neither does the attribution).
    """
    from prtrace.attribution import attribute

    artifacts = body.artifacts
    if artifacts is None or not artifacts.final_patch or artifacts.attribution is not None:
        return
    trace = await svc.traces.load(trace_id)
    artifacts.attribution = attribute(trace.events, artifacts.final_patch)


@post("/traces/{trace_id:str}/qa", status_code=202, summary="Queue a QA job")
async def request_qa(request: Request, trace_id: str) -> Response:
    svc = await require_api_token(request)
    job_id = await svc.traces.queue_qa(trace_id)
    svc.queue.wakeup.set()
    return _json(JobAccepted(job_id=job_id), 202)


@get("/traces/{trace_id:str}", summary="The whole trace document (format=seed: the seed's shape)")
async def get_trace(request: Request, trace_id: str, dialect: FormatParam = "native") -> Response:
    svc = await require_api_token(request)
    _check_format(dialect)
    body = await svc.traces.document(trace_id)
    return Response(content=_shaped(body, dialect), media_type=JSON)


@get(
    "/traces/{trace_id:str}/agent-trace",
    summary="Who wrote each line of the final patch, as an Agent Trace record",
)
async def get_agent_trace(request: Request, trace_id: str) -> Response:
    from prtrace.attribution import trace_agent_trace

    svc = await require_api_token(request)
    return _json(trace_agent_trace(await svc.traces.load(trace_id)))


@get(
    "/traces",
    summary="List and filter traces; sort and page with cursors",
    dependencies={"filters": Provide(trace_filters_from_query, sync_to_thread=False)},
)
async def list_traces(request: Request, filters: TraceFilters) -> Response:
    svc = await require_api_token(request)
    return _json(await svc.traces.list_traces(filters))


@get(
    "/traces/{trace_id:str}/events",
    summary="A trace's events, filtered and paged",
    dependencies={"filters": Provide(event_filters_from_query, sync_to_thread=False)},
)
async def list_events(
    request: Request,
    trace_id: str,
    filters: EventFilters,
    after: str | None = None,
    limit: Annotated[int, Parameter(ge=1, le=10_000)] = 1000,
) -> Response:
    svc = await require_api_token(request)
    body = await svc.traces.list_events(trace_id, filters, after, limit)
    return Response(content=body, media_type=JSON)


@delete(
    "/traces/{trace_id:str}", status_code=200, summary="Delete a trace, its events and its blobs"
)
async def delete_trace(request: Request, trace_id: str) -> Response:
    from prtrace.backend.storage.deletion import delete_trace as remove

    svc = await require_api_token(request)
    return _json(await remove(svc.db, svc.blobs, trace_id))


ROUTES = [
    create_trace,
    upload_events,
    finalize_trace,
    request_qa,
    get_trace,
    get_agent_trace,
    list_traces,
    list_events,
    delete_trace,
]
