"""Health, the trace JSON Schema, jobs and the JSONL export."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
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
    swebench_strings: bool = False,
) -> Stream:
    """Every trace the filters match (sort, limit and cursor aside), oldest first.

    ``format=seed``: each in the seed's shape; ``format=swebench|trajectory|predictions``:
    each as the row ``prtrace dataset build`` writes (:func:`prtrace.datasets.build.export_line`).
    """
    svc = await require_api_token(request)
    shaper = EventShaper(types=split_values(types) or [], max_output_bytes=max_output_bytes)
    shape = shaper if shaper.active else None
    convert = _row_format(dialect, swebench_strings)

    async def lines() -> AsyncIterator[bytes]:
        async for document in svc.traces.iter_documents(filters, shape):
            yield (convert(document) if convert else document) + b"\n"

    return Stream(lines(), media_type="application/x-ndjson")


def _row_format(fmt: str, swebench_strings: bool) -> Callable[[bytes], bytes] | None:
    """The converter of ``GET /export?format=…`` (None: the trace documents themselves)."""
    if fmt in ("", "trace", "native"):
        return None
    if fmt == "seed":
        return seed.document_bytes_to_seed
    from prtrace.datasets.build import EXPORT_FORMATS, BuildOptions, export_line

    if fmt not in EXPORT_FORMATS:
        known = ", ".join((*DIALECTS, *EXPORT_FORMATS))
        raise ApiError(400, f"format must be one of {known}; got {fmt!r}", "format")
    options = BuildOptions(swebench_strings=swebench_strings, parquet=False)
    return lambda document: export_line(document, fmt, options)


ROUTES = [healthz, schema, get_job, export]
