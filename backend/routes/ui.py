"""The web viewer: static files under ``/ui/`` and the one read it needs beyond the API.

The viewer (``backend/web/``: plain HTML, CSS and JavaScript, no build step)
logs in with an API token kept in the tab's sessionStorage and calls the REST
API with it. The pages themselves carry no data, so they need no token.

``GET /ui/api/traces/{id}`` is the trace document *without* its events (with
``event_count``): a 20,000-event trace's header, artifacts and QA load at once,
and the events come page by page from ``GET /traces/{id}/events``.
"""

from __future__ import annotations

from pathlib import Path

import msgspec
from litestar import Request, Response, get
from litestar.static_files import create_static_files_router
from litestar.types import ControllerRouterHandler
from sqlalchemy import select

from prtrace import TRACE_FORMAT_VERSION
from prtrace.backend.errors import not_found
from prtrace.backend.routes.common import JSON, require_api_token
from prtrace.backend.storage.db import traces
from prtrace.backend.storage.traces import _iso, _splice_qa

WEB_DIR = Path(__file__).resolve().parent.parent / "web"

_encode = msgspec.json.Encoder().encode


@get("/ui/api/traces/{trace_id:str}", summary="A trace without its events (for the viewer)")
async def trace_overview(request: Request, trace_id: str) -> Response:
    svc = await require_api_token(request)
    async with svc.db.read() as conn:
        row = (await conn.execute(select(traces).where(traces.c.trace_id == trace_id))).first()
    if row is None:
        raise not_found(f"trace {trace_id}")
    meta = msgspec.json.decode(row.meta, type=dict[str, msgspec.Raw])
    document = {
        "trace_id": row.trace_id,
        "created_at": meta["created_at"],
        "version": TRACE_FORMAT_VERSION,
        "status": row.status,
        "sealed_at": _iso(row.sealed_at),
        "developer": meta["developer"],
        "task": meta["task"],
        "environment": meta["environment"],
        "event_count": row.event_count,
        "events": [],
        "artifacts": msgspec.Raw(row.artifacts or b"{}"),
    }
    return Response(content=_splice_qa(_encode(document), row), media_type=JSON)


ROUTES: list[ControllerRouterHandler] = [
    trace_overview,
    create_static_files_router(
        path="/ui", directories=[WEB_DIR], html_mode=True, include_in_schema=False, name="ui"
    ),
]
