"""``/traces/{id}/judge`` and ``/traces/{id}/judgements``: re-judging and the judgement history."""

from __future__ import annotations

import msgspec
from litestar import Request, Response, get, post

from prtrace.api_types import JobAccepted, JudgeRequest
from prtrace.backend.jobs.judging import list_judgements, queue_judge
from prtrace.backend.routes.common import JSON, decode_body, require_api_token

_encode = msgspec.json.Encoder().encode


@post(
    "/traces/{trace_id:str}/judge",
    status_code=202,
    summary="Queue a (re-)judgement by the LLM judge",
)
async def request_judge(request: Request, trace_id: str) -> Response:
    svc = await require_api_token(request)
    body = await decode_body(request, JudgeRequest, optional=True)
    job_id = await queue_judge(svc, trace_id, body)
    return Response(content=_encode(JobAccepted(job_id=job_id)), status_code=202, media_type=JSON)


@get("/traces/{trace_id:str}/judgements", summary="Every judgement of a trace, newest first")
async def get_judgements(request: Request, trace_id: str) -> Response:
    svc = await require_api_token(request)
    return Response(content=_encode(await list_judgements(svc, trace_id)), media_type=JSON)


ROUTES = [request_judge, get_judgements]
