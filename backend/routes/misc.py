"""Health, the trace JSON Schema, jobs and the JSONL export."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

import msgspec
from litestar import Request, Response, get
from litestar.di import Provide
from litestar.params import Parameter, QueryParameter
from litestar.response import Stream

from prtrace import __version__
from prtrace.api_types import Health, JobStatus
from prtrace.backend.errors import ApiError, not_found
from prtrace.backend.routes.common import JSON, require_api_token, services
from prtrace.backend.storage.export import EventShaper
from prtrace.backend.storage.queries import TraceFilters, split_values, trace_filters_from_query
from prtrace.dialects import DIALECTS, seed
from prtrace.schema import trace_schema

_encode = msgspec.json.Encoder().encode


@get("/healthz", summary="Liveness and storage check (no token)")
async def healthz(request: Request) -> Response:
    svc = services(request)
    await svc.db.ping()  # not a count: health checks run every few seconds on every replica
    await svc.blobs.check()
    health = Health(status="ok", version=__version__, database=svc.db.kind, blobs=svc.blobs.kind)
    return Response(content=_encode(health), media_type=JSON)


_SCHEMA_BYTES = b""


@get("/trace-schema.json", summary="JSON Schema of the trace format (no token)")
async def schema() -> Response:
    global _SCHEMA_BYTES
    if not _SCHEMA_BYTES:
        _SCHEMA_BYTES = _encode(trace_schema())
    return Response(content=_SCHEMA_BYTES, media_type="application/schema+json")


@get("/jobs/{job_id:str}", summary="A job's state")
async def get_job(request: Request, job_id: str) -> Response:
    svc = await require_api_token(request)
    row = await svc.queue.get(job_id)
    if row is None:
        raise not_found(f"job {job_id}")
    status = JobStatus(
        job_id=row.job_id,
        kind=row.kind,
        status=row.status,
        attempts=row.attempts,
        trace_id=row.trace_id,
        error=row.error,
    )
    return Response(content=_encode(status), media_type=JSON)


@get(
    "/export",
    summary="Stream matching traces as JSONL, oldest first",
    dependencies={"filters": Provide(trace_filters_from_query, sync_to_thread=False)},
)
async def export(
    request: Request,
    filters: TraceFilters,
    types: list[str] | None = None,
    max_output_bytes: Annotated[int | None, Parameter(ge=0)] = None,
    dialect: Annotated[str, QueryParameter(name="format")] = "native",
) -> Stream:
    """Every trace the filters match (sort, limit and cursor aside), oldest first;
    ``format=seed``: each in the seed's shape."""
    svc = await require_api_token(request)
    if dialect not in DIALECTS:
        raise ApiError(400, f"format must be one of {', '.join(DIALECTS)}", "format")
    shaper = EventShaper(types=split_values(types) or [], max_output_bytes=max_output_bytes)
    shape = shaper if shaper.active else None

    async def lines() -> AsyncIterator[bytes]:
        async for document in svc.traces.iter_documents(filters, shape):
            if dialect == "seed":
                document = seed.document_bytes_to_seed(document)
            yield document + b"\n"

    return Stream(lines(), media_type="application/x-ndjson")


ROUTES = [healthz, schema, get_job, export]
