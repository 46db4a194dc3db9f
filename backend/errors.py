"""Errors the API returns, all in one JSON shape (:class:`prtrace.api_types.ErrorBody`).

Route code raises :class:`ApiError`; Litestar's own exceptions (404 route,
413 body too large, 405, …) are rendered the same way, and anything
unexpected becomes a 500 whose body says nothing internal.
"""

from __future__ import annotations

import logging

import msgspec
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException

from prtrace.api_types import ErrorBody
from prtrace.errors import FormatError

log = logging.getLogger("prtrace.backend")


class ApiError(Exception):
    def __init__(self, status_code: int, detail: str, field: str | None = None) -> None:
        super().__init__(detail)
        self.status_code = status_code
        self.detail = detail
        self.field = field

    @classmethod
    def from_format(cls, exc: FormatError, status_code: int = 422) -> ApiError:
        return cls(status_code, exc.message, exc.field)


def not_found(what: str) -> ApiError:
    return ApiError(404, f"{what} not found")


def conflict(detail: str, field: str | None = None) -> ApiError:
    return ApiError(409, detail, field)


def error_response(
    status_code: int, detail: str, field: str | None = None, headers: dict[str, str] | None = None
) -> Response:
    body = ErrorBody(status_code=status_code, detail=detail, field=field)
    headers = dict(headers or {})
    if status_code == 401:
        headers["WWW-Authenticate"] = "Bearer"
    return Response(
        content=msgspec.json.encode(body),
        status_code=status_code,
        media_type="application/json",
        headers=headers,
    )


def handle_api_error(_: Request, exc: ApiError) -> Response:
    return error_response(exc.status_code, exc.detail, exc.field)


def handle_http_exception(_: Request, exc: HTTPException) -> Response:
    detail, field = exc.detail, None
    if exc.status_code == 413:
        detail = "request body too large (see docs/api.md for the limits)"
    elif isinstance(exc, ValidationException) and isinstance(exc.extra, list) and exc.extra:
        first = exc.extra[0]
        if isinstance(first, dict):
            field = first.get("key")
            detail = f"{first.get('message', detail)} (query parameter {field!r})"
    # Litestar's own headers stay (``Allow`` on a 405, as RFC 9110 wants).
    return error_response(exc.status_code, detail, field, exc.headers)


def refuse_nul(request: Request) -> None:
    """Refuse NUL (U+0000) in the path and query up front, on every database.

    PostgreSQL cannot hold it in text and fails the query; for a streamed
    answer (``GET /export``) that happens after the 200 went out, so the client
    would see a cut connection instead of a 422 naming the parameter.
    """
    if "\x00" in request.url.path:
        raise ApiError(422, "the path may not contain the NUL character (\\u0000)")
    for name, value in request.query_params.multi_items():
        if "\x00" in name or "\x00" in value:
            raise ApiError(
                422, "query parameters may not contain the NUL character (\\u0000)", name
            )


def handle_unexpected(request: Request, exc: Exception) -> Response:
    # PostgreSQL refuses NUL in text (SQLSTATE 22021); the transaction is rolled back.
    if getattr(getattr(exc, "orig", None), "sqlstate", None) == "22021":
        return error_response(422, "text may not contain the NUL character (\\u0000)")
    log.exception("internal error on %s %s", request.method, request.url.path)
    return error_response(500, "internal server error")


EXCEPTION_HANDLERS = {
    ApiError: handle_api_error,
    HTTPException: handle_http_exception,
    Exception: handle_unexpected,
}
