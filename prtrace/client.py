"""The HTTP client of the prtrace REST API (``docs/api.md``), sync and async.

Every endpoint is written once. A *call* (:class:`Call`) is built by the
:class:`_Endpoints` mixin from the method's arguments: HTTP method, path,
query, encoded body, token and the type the answer decodes into. One function,
:func:`parse_response`, turns any answer into that type or a
:class:`PrtraceError`. :class:`Client` and :class:`AsyncClient` differ only in
how they *send* a call (``httpx.Client`` or ``httpx.AsyncClient``), so the sync
and async clients cannot drift apart::

    with Client() as api:                       # URL and token from Settings
        created = api.create_trace(developer=Developer(id="alice"),
                                   task=Task(repository="r", commit="abcd123"))
        api.upload_events(created.trace_id, 0, events, token=created.upload_token)
        api.finalize(created.trace_id, token=created.upload_token)

    async with AsyncClient() as api:
        trace = await api.get_trace(trace_id)
        async for summary in api.iter_traces(status="sealed"):
            ...
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar, Union

import httpx
import msgspec

from prtrace import __version__
from prtrace.api_types import (
    BatchAccepted,
    CreateTraceRequest,
    CreateTraceResponse,
    ErrorBody,
    EventBatch,
    FinalizeRequest,
    FinalizeResponse,
    Health,
    JobAccepted,
    JobStatus,
    JudgementList,
    JudgeRequest,
    StoredEventList,
    TraceDeleted,
    TraceList,
    TraceSummary,
)
from prtrace.config import Settings, load_settings
from prtrace.trace import Artifacts, Developer, Environment, Task, Trace

T = TypeVar("T")
Item = TypeVar("Item")

#: What an endpoint method returns: the value (``Client``) or an awaitable of
#: it (``AsyncClient``).
Result = Union[T, Awaitable[T]]

DEFAULT_TIMEOUT = 30.0
RETRYABLE_STATUS = frozenset({429, 502, 503, 504})
_USER_AGENT = f"prtrace-client/{__version__}"
_encoder = msgspec.json.Encoder()


class PrtraceError(Exception):
    """Any failure talking to the backend: an error answer or no answer at all.

    ``status_code`` is the HTTP status (``None`` when the server could not be
    reached or did not answer), ``detail`` the server's message and ``field``
    the JSON path of the offending value when the server named one.
    """

    def __init__(
        self,
        detail: str,
        *,
        status_code: int | None = None,
        field: str | None = None,
        url: str | None = None,
        transport: bool = False,
    ) -> None:
        self.detail = detail
        self.status_code = status_code
        self.field = field
        self.url = url
        self.transport = transport
        super().__init__(self._message())

    def _message(self) -> str:
        if self.transport:
            return self.detail
        text = f"{self.field}: {self.detail}" if self.field else self.detail
        return f"{text} (HTTP {self.status_code})" if self.status_code else text

    @property
    def retryable(self) -> bool:
        """True when sending the same request again later may succeed.

        Connection failures, timeouts, 429 and the gateway errors are
        transient; a 4xx is the client's mistake and will fail again.
        """
        return self.transport or self.status_code in RETRYABLE_STATUS


def transport_error(exc: httpx.TransportError, base_url: str) -> PrtraceError:
    """Say plainly that the backend is unreachable or silent, and where."""
    reason = str(exc) or type(exc).__name__
    if isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout)):
        text = f"cannot reach the prtrace backend at {base_url}: {reason}"
    elif isinstance(exc, httpx.TimeoutException):
        text = f"the prtrace backend at {base_url} did not answer in time: {reason}"
    else:
        text = f"lost the connection to the prtrace backend at {base_url}: {reason}"
    return PrtraceError(text, url=base_url, transport=True)


def error_from_response(status_code: int, content: bytes, url: str | None = None) -> PrtraceError:
    """Build the error from the server's ``ErrorBody``, or its raw text if it sent none."""
    try:
        body = msgspec.json.decode(content, type=ErrorBody)
        return PrtraceError(body.detail, status_code=status_code, field=body.field, url=url)
    except (msgspec.MsgspecError, UnicodeDecodeError):
        text = content.decode("utf-8", "replace").strip()[:500]
        reason = httpx.codes.get_reason_phrase(status_code) or "error"
        return PrtraceError(text or reason, status_code=status_code, url=url)


@dataclass(frozen=True)
class Call(Generic[T]):
    """One request, described without sending it, and what its answer decodes into."""

    method: str
    path: str
    returns: type[T] | None
    """The type of a 2xx body; ``None`` for a streamed body."""
    params: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None
    token: str | None = None
    """Overrides the client's token (an upload token, say)."""

    def headers(self, default_token: str | None) -> dict[str, str]:
        headers = {"Accept": "application/json"}
        token = self.token or default_token
        if token:
            headers["Authorization"] = f"Bearer {token}"
        if self.body is not None:
            headers["Content-Type"] = "application/json"
        return headers


def parse_response(call: Call[T], status_code: int, content: bytes, url: str | None = None) -> T:
    """The one place an answer is judged: a decoded ``call.returns`` or a PrtraceError."""
    if not 200 <= status_code < 300:
        raise error_from_response(status_code, content, url)
    assert call.returns is not None, "streamed calls are not parsed whole"
    try:
        return msgspec.json.decode(content, type=call.returns)
    except (msgspec.MsgspecError, UnicodeDecodeError) as exc:
        raise PrtraceError(
            f"unexpected answer from the server: {exc}", status_code=status_code, url=url
        ) from None


def query(**values: Any) -> dict[str, str]:
    """Query parameters: drop ``None``, join lists with commas, RFC 3339 for datetimes."""
    params: dict[str, str] = {}
    for key, value in values.items():
        if value is None:
            continue
        if isinstance(value, datetime):
            value = value.isoformat()
        elif isinstance(value, (list, tuple, set, frozenset)):
            value = ",".join(str(v) for v in value)
        elif isinstance(value, bool):
            value = "true" if value else "false"
        params[key] = str(value)
    return params


def trace_filters(
    status: str | None = None,
    developer: str | None = None,
    repository: str | None = None,
    created_after: datetime | str | None = None,
    created_before: datetime | str | None = None,
    limit: int | None = None,
    cursor: str | None = None,
    verdict: str | Sequence[str] | None = None,
    qa_status: str | Sequence[str] | None = None,
    overall_min: float | None = None,
    overall_max: float | None = None,
    has_type: str | Sequence[str] | None = None,
    score: str | Sequence[str] | None = None,
    sort: str | None = None,
) -> dict[str, str]:
    """The filters of ``GET /traces`` and ``GET /export`` (unknown names are a TypeError).

    ``sort`` is ``created``, ``-created`` (the default), ``overall`` or ``-overall``;
    ``has_type`` keeps traces with at least one event of each type; ``score`` takes
    ``DIMENSION:MIN:MAX`` ranges of the judge's per-dimension scores (a bound may be empty).
    """
    return query(
        status=status,
        developer=developer,
        repository=repository,
        created_after=created_after,
        created_before=created_before,
        limit=limit,
        cursor=cursor,
        verdict=verdict,
        qa_status=qa_status,
        overall_min=overall_min,
        overall_max=overall_max,
        has_type=has_type,
        score=score,
        sort=sort,
    )


def event_filters(
    type: str | Sequence[str] | None = None,  # noqa: A002 - the API's parameter name
    path: str | None = None,
    since: datetime | str | None = None,
    until: datetime | str | None = None,
    q: str | None = None,
) -> dict[str, str]:
    """The filters of ``GET /traces/{id}/events``: types, a file, a time range, text."""
    return query(type=type, path=path, since=since, until=until, q=q)


class LineSplitter:
    """Cut a byte stream into lines, holding at most one unfinished line.

    Pieces of a long line are kept in a list and joined once, so a trace
    document of many megabytes arriving in small chunks costs linear time.
    """

    def __init__(self) -> None:
        self._pending: list[bytes] = []

    def feed(self, chunk: bytes) -> list[bytes]:
        if b"\n" not in chunk:
            if chunk:
                self._pending.append(chunk)
            return []
        first, *middle, last = chunk.split(b"\n")
        self._pending.append(first)
        lines = [b"".join(self._pending), *middle]
        self._pending = [last] if last else []
        return [line.rstrip(b"\r") for line in lines if line.strip()]

    def finish(self) -> list[bytes]:
        rest, self._pending = b"".join(self._pending).strip(), []
        return [rest] if rest else []


def _as_list(events: Iterable[Any]) -> list[Any]:
    """Events as given: Structs, dicts or already-encoded ``msgspec.Raw``."""
    return events if isinstance(events, list) else list(events)


class _Endpoints:
    """Every endpoint of ``docs/api.md``, written once for both clients.

    Each method builds a :class:`Call` and hands it to ``self._call``, which a
    subclass implements by sending it (and returns the value, or an awaitable of
    it). Paging and streaming go through ``_paginate`` and ``_stream_lines`` in
    the same way.
    """

    def _call(self, call: Call[T]) -> Result[T]:
        raise NotImplementedError

    def _paginate(
        self,
        page: Callable[[str | None], Call[Any]],
        split: Callable[[Any], tuple[Sequence[Item], str | None]],
    ) -> Iterator[Item] | AsyncIterator[Item]:
        raise NotImplementedError

    def _stream_lines(self, call: Call[Any]) -> Iterator[bytes] | AsyncIterator[bytes]:
        raise NotImplementedError

    # --- endpoints ---------------------------------------------------------

    def health(self) -> Result[Health]:
        """``GET /healthz``: is the server up, and what does it run on."""
        return self._call(Call("GET", "/healthz", Health))

    def create_trace(
        self,
        developer: Developer,
        task: Task,
        environment: Environment | None = None,
        *,
        token: str | None = None,
    ) -> Result[CreateTraceResponse]:
        """``POST /traces``: a new open trace and its upload token (shown only here)."""
        request = CreateTraceRequest(
            developer=developer, task=task, environment=environment or Environment()
        )
        return self._call(
            Call("POST", "/traces", CreateTraceResponse, body=_encoder.encode(request), token=token)
        )

    def upload_events(
        self, trace_id: str, seq: int, events: Iterable[Any], *, token: str | None = None
    ) -> Result[BatchAccepted]:
        """``POST /traces/{id}/events``: one batch; resending the same ``seq`` is safe.

        ``events`` may be event Structs, plain dicts or ``msgspec.Raw`` JSON (a
        spool that keeps encoded events need not decode them to send them).
        """
        batch = EventBatch(seq=seq, events=_as_list(events))
        return self._call(
            Call(
                "POST",
                f"/traces/{trace_id}/events",
                BatchAccepted,
                body=_encoder.encode(batch),
                token=token,
            )
        )

    def finalize(
        self,
        trace_id: str,
        artifacts: Artifacts | None = None,
        *,
        token: str | None = None,
    ) -> Result[FinalizeResponse]:
        """``POST /traces/{id}/finalize``: seal the trace (idempotent with the same artifacts)."""
        body = _encoder.encode(FinalizeRequest(artifacts=artifacts)) if artifacts else None
        return self._call(
            Call("POST", f"/traces/{trace_id}/finalize", FinalizeResponse, body=body, token=token)
        )

    def delete_trace(self, trace_id: str) -> Result[TraceDeleted]:
        """``DELETE /traces/{id}`` (API token): the trace, its events and blobs, everywhere."""
        return self._call(Call("DELETE", f"/traces/{trace_id}", TraceDeleted))

    def get_trace(self, trace_id: str) -> Result[Trace]:
        """``GET /traces/{id}``: the whole trace document, with QA."""
        return self._call(Call("GET", f"/traces/{trace_id}", Trace))

    def get_trace_raw(self, trace_id: str) -> Result[msgspec.Raw]:
        """``GET /traces/{id}`` as the server sent it (checked to be JSON, not decoded).

        For passing a document on unchanged: re-encoding a decoded :class:`Trace`
        would leave out fields at their defaults (``version``, ``status: open``).
        """
        return self._call(Call("GET", f"/traces/{trace_id}", msgspec.Raw))

    def list_traces(self, **filters: Any) -> Result[TraceList]:
        """``GET /traces``: one page, newest first. Filters: see :func:`trace_filters`."""
        return self._call(Call("GET", "/traces", TraceList, params=trace_filters(**filters)))

    def iter_traces(self, **filters: Any) -> Iterator[TraceSummary] | AsyncIterator[TraceSummary]:
        """Every trace matching the filters, following ``next_cursor`` page by page."""
        filters.pop("cursor", None)

        def page(cursor: str | None) -> Call[TraceList]:
            return Call("GET", "/traces", TraceList, params=trace_filters(**filters, cursor=cursor))

        return self._paginate(page, lambda answer: (answer.traces, answer.next_cursor))

    def list_events(
        self,
        trace_id: str,
        type: str | Sequence[str] | None = None,
        after: str | None = None,
        limit: int | None = None,
        **filters: Any,
    ) -> Result[StoredEventList]:
        """``GET /traces/{id}/events``: one page of events; filters: :func:`event_filters`."""
        params = {**event_filters(type=type, **filters), **query(after=after, limit=limit)}
        return self._call(
            Call("GET", f"/traces/{trace_id}/events", StoredEventList, params=params)
        )

    def iter_events(
        self,
        trace_id: str,
        type: str | Sequence[str] | None = None,
        page_size: int | None = None,
        **filters: Any,
    ) -> Iterator[Any] | AsyncIterator[Any]:
        """Every (matching) event of a trace in order, following ``next_after``."""
        matching = event_filters(type=type, **filters)

        def page(after: str | None) -> Call[StoredEventList]:
            params = {**matching, **query(after=after, limit=page_size)}
            return Call("GET", f"/traces/{trace_id}/events", StoredEventList, params=params)

        return self._paginate(page, lambda answer: (answer.events, answer.next_after))

    def export(
        self,
        *,
        types: str | Sequence[str] | None = None,
        max_output_bytes: int | None = None,
        **filters: Any,
    ) -> Iterator[bytes] | AsyncIterator[bytes]:
        """``GET /export``: one raw JSON trace document per item, streamed, oldest first.

        ``types`` keeps only events of those types; ``max_output_bytes`` caps each
        command's stdout/stderr (marked ``truncated``).
        """
        params = {
            **trace_filters(**filters),
            **query(types=types, max_output_bytes=max_output_bytes),
        }
        return self._stream_lines(Call("GET", "/export", None, params=params))

    def request_qa(self, trace_id: str) -> Result[JobAccepted]:
        """``POST /traces/{id}/qa``: queue a QA job (tests in Docker, then the judge)."""
        return self._call(Call("POST", f"/traces/{trace_id}/qa", JobAccepted))

    def get_job(self, job_id: str) -> Result[JobStatus]:
        """``GET /jobs/{id}``: how a job is going."""
        return self._call(Call("GET", f"/jobs/{job_id}", JobStatus))

    def request_judge(
        self,
        trace_id: str,
        *,
        model: str | None = None,
        rubric: str | None = None,
        samples: int | None = None,
    ) -> Result[JobAccepted]:
        """``POST /traces/{id}/judge``: queue a judgement (another model, rubric or sample count)."""
        body = _encoder.encode(JudgeRequest(model=model, rubric=rubric, samples=samples))
        return self._call(Call("POST", f"/traces/{trace_id}/judge", JobAccepted, body=body))

    def list_judgements(self, trace_id: str) -> Result[JudgementList]:
        """``GET /traces/{id}/judgements``: every judgement of the trace, newest first."""
        return self._call(Call("GET", f"/traces/{trace_id}/judgements", JudgementList))


def _resolve(
    url: str | None, token: str | None, settings: Settings | None
) -> tuple[str, str | None]:
    """Fill what the caller left out from Settings (flags > env > config.toml > defaults)."""
    if url is None or token is None:
        settings = settings or load_settings()
        url = url or settings.url
        token = token or settings.client_token()
    return url.rstrip("/"), token


def _client_options(base_url: str, timeout: float | httpx.Timeout | None) -> dict[str, Any]:
    return {
        "base_url": base_url,
        "timeout": timeout,
        "headers": {"User-Agent": _USER_AGENT},
    }


class Client(_Endpoints):
    """Blocking client. Every endpoint method returns its value or raises PrtraceError.

    ``url`` and ``token`` default to :class:`~prtrace.config.Settings` (``PRTRACE_URL``,
    then the API token of ``Settings.client_token()``).
    """

    def __init__(
        self,
        url: str | None = None,
        token: str | None = None,
        *,
        settings: Settings | None = None,
        timeout: float | httpx.Timeout | None = DEFAULT_TIMEOUT,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url, self.token = _resolve(url, token, settings)
        self._http = httpx.Client(transport=transport, **_client_options(self.base_url, timeout))

    def _call(self, call: Call[T]) -> T:
        try:
            response = self._http.request(
                call.method,
                call.path,
                params=call.params,
                content=call.body,
                headers=call.headers(self.token),
            )
        except httpx.TransportError as exc:
            raise transport_error(exc, self.base_url) from exc
        return parse_response(call, response.status_code, response.content, str(response.url))

    def _paginate(
        self,
        page: Callable[[str | None], Call[Any]],
        split: Callable[[Any], tuple[Sequence[Item], str | None]],
    ) -> Iterator[Item]:
        token: str | None = None
        while True:
            items, token = split(self._call(page(token)))
            yield from items
            if not token:
                return

    def _stream_lines(self, call: Call[Any]) -> Iterator[bytes]:
        splitter = LineSplitter()
        try:
            with self._http.stream(
                call.method, call.path, params=call.params, headers=call.headers(self.token)
            ) as response:
                if response.status_code >= 300:
                    response.read()
                    parse_response(call, response.status_code, response.content, str(response.url))
                for chunk in response.iter_bytes():
                    yield from splitter.feed(chunk)
        except httpx.TransportError as exc:
            raise transport_error(exc, self.base_url) from exc
        yield from splitter.finish()

    def wait_for_job(
        self,
        job_id: str,
        *,
        timeout: float = 900.0,
        poll: float = 1.0,
        on_poll: Callable[[JobStatus], None] | None = None,
    ) -> JobStatus:
        """Poll a job until it is done or failed; raise TimeoutError after ``timeout`` s."""
        deadline = time.monotonic() + timeout
        while True:
            job = self.get_job(job_id)
            if on_poll:
                on_poll(job)
            if job.status in ("done", "error"):
                return job
            if time.monotonic() >= deadline:
                raise TimeoutError(f"job {job_id} still {job.status} after {timeout:.0f} s")
            time.sleep(poll)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class AsyncClient(_Endpoints):
    """Asyncio client: the same methods as :class:`Client`, awaited.

    ``iter_traces``, ``iter_events`` and ``export`` return async iterators.
    """

    def __init__(
        self,
        url: str | None = None,
        token: str | None = None,
        *,
        settings: Settings | None = None,
        timeout: float | httpx.Timeout | None = DEFAULT_TIMEOUT,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.base_url, self.token = _resolve(url, token, settings)
        self._http = httpx.AsyncClient(
            transport=transport, **_client_options(self.base_url, timeout)
        )

    async def _call(self, call: Call[T]) -> T:
        try:
            response = await self._http.request(
                call.method,
                call.path,
                params=call.params,
                content=call.body,
                headers=call.headers(self.token),
            )
        except httpx.TransportError as exc:
            raise transport_error(exc, self.base_url) from exc
        return parse_response(call, response.status_code, response.content, str(response.url))

    async def _paginate(
        self,
        page: Callable[[str | None], Call[Any]],
        split: Callable[[Any], tuple[Sequence[Item], str | None]],
    ) -> AsyncIterator[Item]:
        token: str | None = None
        while True:
            items, token = split(await self._call(page(token)))
            for item in items:
                yield item
            if not token:
                return

    async def _stream_lines(self, call: Call[Any]) -> AsyncIterator[bytes]:
        splitter = LineSplitter()
        try:
            async with self._http.stream(
                call.method, call.path, params=call.params, headers=call.headers(self.token)
            ) as response:
                if response.status_code >= 300:
                    await response.aread()
                    parse_response(call, response.status_code, response.content, str(response.url))
                async for chunk in response.aiter_bytes():
                    for line in splitter.feed(chunk):
                        yield line
        except httpx.TransportError as exc:
            raise transport_error(exc, self.base_url) from exc
        for line in splitter.finish():
            yield line

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()


__all__ = [
    "AsyncClient",
    "Call",
    "Client",
    "LineSplitter",
    "PrtraceError",
    "parse_response",
    "trace_filters",
]
