"""What every route needs: the services, authorisation, decoding a body."""

from __future__ import annotations

from typing import Literal, TypeVar, overload

from litestar import Request

from prtrace.backend.auth import UPLOAD_PREFIX, bearer_token, matches
from prtrace.backend.errors import ApiError, not_found
from prtrace.backend.services import Services
from prtrace.codec import decode
from prtrace.errors import FormatError

T = TypeVar("T")

JSON = "application/json"


def services(request: Request) -> Services:
    return request.app.state.services


async def require_api_token(request: Request) -> Services:
    """Only an API token may pass."""
    svc = services(request)
    token = bearer_token(request)
    if token.startswith(UPLOAD_PREFIX):
        raise ApiError(403, "an upload token can only add events to and finalize its own trace")
    if not await svc.tokens.is_valid(token):
        raise ApiError(403, "invalid API token")
    return svc


async def require_trace_writer(request: Request, trace_id: str) -> Services:
    """An API token, or the upload token of this very trace."""
    svc = services(request)
    token = bearer_token(request)
    if token.startswith(UPLOAD_PREFIX):
        stored = await svc.traces.upload_token_hash(trace_id)
        if stored is None:
            raise not_found(f"trace {trace_id}")
        if not matches(token, stored):
            raise ApiError(403, f"this upload token does not belong to trace {trace_id}")
        return svc
    if not await svc.tokens.is_valid(token):
        raise ApiError(403, "invalid token")
    return svc


@overload
async def decode_body(
    request: Request, type_: type[T], *, optional: Literal[False] = False
) -> T: ...
@overload
async def decode_body(request: Request, type_: type[T], *, optional: bool) -> T | None: ...
async def decode_body(request: Request, type_: type[T], *, optional: bool = False) -> T | None:
    """The body as ``type_``; with ``optional``, None for an empty body."""
    body = await request.body()
    if optional and not body.strip():
        return None
    try:
        return decode(body, type_)
    except FormatError as exc:
        raise ApiError.from_format(exc, 400 if exc.syntax else 422) from None
