"""The HTTP client of the prtrace REST API (``docs/api.md``): :class:`Client` and
:class:`AsyncClient`.

Every endpoint is written once, in :class:`Requests`: a static method that
turns the endpoint's arguments into a :class:`Call` (HTTP method, path, query,
encoded body, token and the type the answer decodes into), without sending
it. One function, :func:`parse_response`, turns any answer into that type or
an :class:`~prtrace.errors.APIError`. The two clients are typed apart — every
method of :class:`Client` returns its value, every method of
:class:`AsyncClient` is a coroutine (``iter_*`` and ``export`` give async
iterators) — and each method is one line: send what :class:`Requests` built.
So the clients cannot drift apart, and a type checker sees ``api.get_trace(…)``
as a :class:`~prtrace.trace.Trace` or an ``Awaitable[Trace]``, not a union::

    with Client() as api:  # URL and token from Settings
        created = api.create_trace(
            developer=Developer(id="alice"), task=Task(repository="r", commit="abcd123")
        )
        api.upload_events(created.trace_id, 0, events, token=created.upload_token)
        api.finalize(created.trace_id, token=created.upload_token)

    async with AsyncClient() as api:
        trace = await api.get_trace(trace_id)
        async for summary in api.iter_traces(status="sealed"):
            ...

Errors are the :class:`~prtrace.errors.APIError` branch of prtrace's error
tree (:mod:`prtrace.errors`), picked by status: ``NotFoundError`` (404),
``ConflictError`` (409), ``AuthError`` (401/403), ``InvalidRequest``
(400/413/422), ``ServerError`` (5xx), ``BackendUnreachable`` (no answer);
they are importable from here too.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, Literal, TypeVar, overload

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
from prtrace.errors import (
    APIError,
    AuthError,
    BackendUnreachable,
    ConflictError,
    InvalidRequest,
    JobTimeout,
    NotFoundError,
    PrtraceError,
    ServerError,
    api_error_class,
)
from prtrace.trace import Artifacts, Developer, Environment, Task, Trace

T = TypeVar("T")
Page = TypeVar("Page")
Item = TypeVar("Item")
F = TypeVar("F", bound=Callable[..., Any])

DEFAULT_TIMEOUT = 30.0
_USER_AGENT = f"prtrace-client/{__version__}"
_encoder = msgspec.json.Encoder()


def transport_error(exc: httpx.TransportError, base_url: str) -> BackendUnreachable:
    """Say plainly that the backend is unreachable or silent, and where."""
    reason = str(exc) or type(exc).__name__
    if isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout)):
        text = f"cannot reach the prtrace backend at {base_url}: {reason}"
    elif isinstance(exc, httpx.TimeoutException):
        text = f"the prtrace backend at {base_url} did not answer in time: {reason}"
    else:
        text = f"lost the connection to the prtrace backend at {base_url}: {reason}"
    return BackendUnreachable(text, url=base_url)


def error_from_response(status_code: int, content: bytes, url: str | None = None) -> APIError:
    """The error for a status (:func:`~prtrace.errors.api_error_class`), from the server's
    ``ErrorBody``, or its raw text if it sent none."""
    cls = api_error_class(status_code)
    try:
        body = msgspec.json.decode(content, type=ErrorBody)
        return cls(body.detail, status_code=status_code, field=body.field, url=url)
    except (msgspec.MsgspecError, UnicodeDecodeError):
        text = content.decode("utf-8", "replace").strip()[:500]
        reason = httpx.codes.get_reason_phrase(status_code) or "error"
        return cls(text or reason, status_code=status_code, url=url)


def _format_param(format: str, *, rows: bool = False) -> dict[str, str]:  # noqa: A002
    """``format=`` for the server: left out for prtrace's own (every server knows that one).

    ``rows``: ``GET /export`` also takes dataset row formats (``swebench``, ...), which
    the server checks (prtrace.datasets is above the client's layer).
    """
    from prtrace.dialects import DIALECTS

    if not rows and format not in DIALECTS:
        raise ValueError(f"format must be one of {', '.join(DIALECTS)}, not {format!r}")
    return {} if format == "native" else {"format": format}


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


@dataclass(frozen=True)
class Paged(Generic[Page, Item]):
    """A listing that follows a cursor: the :class:`Call` for each page, and how to
    read a page's items and the next cursor (``None`` or empty at the end)."""

    page: Callable[[str | None], Call[Page]]
    split: Callable[[Page], tuple[Sequence[Item], str | None]]


def parse_response(call: Call[T], status_code: int, content: bytes, url: str | None = None) -> T:
    """The one place an answer is judged: a decoded ``call.returns`` or an APIError."""
    if not 200 <= status_code < 300:
        raise error_from_response(status_code, content, url)
    assert call.returns is not None, "streamed calls are not parsed whole"
    try:
        return msgspec.json.decode(content, type=call.returns)
    except (msgspec.MsgspecError, UnicodeDecodeError) as exc:
        raise ServerError(
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
    ai_share: str | None = None,
    agent: str | None = None,
) -> dict[str, str]:
    """The filters of ``GET /traces`` and ``GET /export`` (unknown names are a TypeError).

    ``ai_share`` is ``MIN:MAX`` of the agent-written share of the final patch's lines
    (``0.5:`` at least half); ``agent`` keeps traces in which that agent acted.

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
        ai_share=ai_share,
        agent=agent,
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


class Requests:
    """Every endpoint of ``docs/api.md``, as the request it sends (built, not sent).

    :class:`Client` and :class:`AsyncClient` have one method per endpoint here,
    with the same parameters and docstring, that sends what it builds
    (tests/test_client_unit.py checks that the three agree).
    """

    @staticmethod
    def health() -> Call[Health]:
        """``GET /healthz``: is the server up, and what does it run on."""
        return Call("GET", "/healthz", Health)

    @staticmethod
    def create_trace(
        developer: Developer,
        task: Task,
        environment: Environment | None = None,
        *,
        token: str | None = None,
    ) -> Call[CreateTraceResponse]:
        """``POST /traces``: a new open trace and its upload token (shown only here)."""
        request = CreateTraceRequest(
            developer=developer, task=task, environment=environment or Environment()
        )
        return Call(
            "POST", "/traces", CreateTraceResponse, body=_encoder.encode(request), token=token
        )

    @staticmethod
    def upload_events(
        trace_id: str, seq: int, events: Iterable[Any], *, token: str | None = None
    ) -> Call[BatchAccepted]:
        """``POST /traces/{id}/events``: one batch; resending the same ``seq`` is safe.

        ``events`` may be event Structs, plain dicts or ``msgspec.Raw`` JSON (a
        spool that keeps encoded events need not decode them to send them).
        """
        batch = EventBatch(seq=seq, events=_as_list(events))
        return Call(
            "POST",
            f"/traces/{trace_id}/events",
            BatchAccepted,
            body=_encoder.encode(batch),
            token=token,
        )

    @staticmethod
    def finalize(
        trace_id: str,
        artifacts: Artifacts | None = None,
        *,
        token: str | None = None,
    ) -> Call[FinalizeResponse]:
        """``POST /traces/{id}/finalize``: seal the trace (idempotent with the same artifacts)."""
        body = _encoder.encode(FinalizeRequest(artifacts=artifacts)) if artifacts else None
        return Call(
            "POST", f"/traces/{trace_id}/finalize", FinalizeResponse, body=body, token=token
        )

    @staticmethod
    def delete_trace(trace_id: str) -> Call[TraceDeleted]:
        """``DELETE /traces/{id}`` (API token): the trace, its events and blobs, everywhere."""
        return Call("DELETE", f"/traces/{trace_id}", TraceDeleted)

    @staticmethod
    def get_trace(trace_id: str, format: str = "native") -> Call[Any]:  # noqa: A002
        """``GET /traces/{id}``: the whole trace document, with QA.

        A :class:`Trace`; with ``format="seed"`` the document in the seed's shape
        (``trace-1.0.0``, docs/trace-format.md) as plain JSON values.
        """
        if format == "seed":
            return Call("GET", f"/traces/{trace_id}", dict, params={"format": "seed"})
        return Call("GET", f"/traces/{trace_id}", Trace, params=_format_param(format))

    @staticmethod
    def get_trace_raw(trace_id: str, format: str = "native") -> Call[msgspec.Raw]:  # noqa: A002
        """``GET /traces/{id}`` as the server sent it (checked to be JSON, not decoded).

        For passing a document on unchanged: re-encoding a decoded :class:`Trace`
        would leave out fields at their defaults (``version``, ``status: open``).
        """
        return Call("GET", f"/traces/{trace_id}", msgspec.Raw, params=_format_param(format))

    @staticmethod
    def get_agent_trace(trace_id: str) -> Call[dict[str, Any]]:
        """``GET /traces/{id}/agent-trace``: the final patch's authorship as an Agent Trace
        record (cursor/agent-trace 0.1.0)."""
        return Call("GET", f"/traces/{trace_id}/agent-trace", dict[str, Any])

    @staticmethod
    def list_traces(**filters: Any) -> Call[TraceList]:
        """``GET /traces``: one page, newest first. Filters: see :func:`trace_filters`."""
        return Call("GET", "/traces", TraceList, params=trace_filters(**filters))

    @staticmethod
    def iter_traces(**filters: Any) -> Paged[TraceList, TraceSummary]:
        """Every trace matching the filters, following ``next_cursor`` page by page."""
        filters.pop("cursor", None)

        def page(cursor: str | None) -> Call[TraceList]:
            return Call("GET", "/traces", TraceList, params=trace_filters(**filters, cursor=cursor))

        return Paged(page, lambda answer: (answer.traces, answer.next_cursor))

    @staticmethod
    def list_events(
        trace_id: str,
        type: str | Sequence[str] | None = None,  # noqa: A002 - the API's parameter name
        after: str | None = None,
        limit: int | None = None,
        **filters: Any,
    ) -> Call[StoredEventList]:
        """``GET /traces/{id}/events``: one page of events; filters: :func:`event_filters`."""
        params = {**event_filters(type=type, **filters), **query(after=after, limit=limit)}
        return Call("GET", f"/traces/{trace_id}/events", StoredEventList, params=params)

    @staticmethod
    def iter_events(
        trace_id: str,
        type: str | Sequence[str] | None = None,  # noqa: A002 - the API's parameter name
        page_size: int | None = None,
        **filters: Any,
    ) -> Paged[StoredEventList, Any]:
        """Every (matching) event of a trace in order, following ``next_after``."""
        matching = event_filters(type=type, **filters)

        def page(after: str | None) -> Call[StoredEventList]:
            params = {**matching, **query(after=after, limit=page_size)}
            return Call("GET", f"/traces/{trace_id}/events", StoredEventList, params=params)

        return Paged(page, lambda answer: (answer.events, answer.next_after))

    @staticmethod
    def export(
        *,
        types: str | Sequence[str] | None = None,
        max_output_bytes: int | None = None,
        format: str = "native",  # noqa: A002 - the API's parameter name
        swebench_strings: bool | None = None,
        **filters: Any,
    ) -> Call[Any]:
        """``GET /export``: one raw JSON trace document per item, streamed, oldest first.

        ``types`` keeps only events of those types; ``max_output_bytes`` caps each
        command's stdout/stderr (marked ``truncated``). ``format="seed"``: each document
        in the seed's shape; ``swebench``, ``trajectory`` or ``predictions``: each trace as
        that dataset row instead (docs/datasets.md); ``swebench_strings`` writes
        FAIL_TO_PASS as a JSON string.
        """
        params = {
            **trace_filters(**filters),
            **query(
                types=types,
                max_output_bytes=max_output_bytes,
                swebench_strings=swebench_strings,
            ),
            **_format_param(format, rows=True),
        }
        return Call("GET", "/export", None, params=params)

    @staticmethod
    def request_qa(trace_id: str) -> Call[JobAccepted]:
        """``POST /traces/{id}/qa``: queue a QA job (tests in Docker, then the judge)."""
        return Call("POST", f"/traces/{trace_id}/qa", JobAccepted)

    @staticmethod
    def get_job(job_id: str) -> Call[JobStatus]:
        """``GET /jobs/{id}``: how a job is going."""
        return Call("GET", f"/jobs/{job_id}", JobStatus)

    @staticmethod
    def request_judge(
        trace_id: str,
        *,
        model: str | None = None,
        rubric: str | None = None,
        samples: int | None = None,
    ) -> Call[JobAccepted]:
        """``POST /traces/{id}/judge``: queue a judgement (another model, rubric or samples)."""
        body = _encoder.encode(JudgeRequest(model=model, rubric=rubric, samples=samples))
        return Call("POST", f"/traces/{trace_id}/judge", JobAccepted, body=body)

    @staticmethod
    def list_judgements(trace_id: str) -> Call[JudgementList]:
        """``GET /traces/{id}/judgements``: every judgement of the trace, newest first."""
        return Call("GET", f"/traces/{trace_id}/judgements", JudgementList)


ENDPOINTS: tuple[str, ...] = tuple(
    name for name, value in vars(Requests).items() if isinstance(value, staticmethod)
)
"""The endpoint methods every client has (the static methods of :class:`Requests`)."""


def _doc(builder: Callable[..., Any]) -> Callable[[F], F]:
    """Give a client method the docstring of the request it sends."""

    def decorate(method: F) -> F:
        method.__doc__ = builder.__doc__
        return method

    return decorate


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


class Client:
    """Blocking client. Every endpoint method returns its value or raises an APIError.

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

    # --- sending -------------------------------------------------------------

    def send(self, call: Call[T]) -> T:
        """Send one :class:`Call` and parse its answer (:func:`parse_response`)."""
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

    def _pages(self, paged: Paged[Page, Item]) -> Iterator[Item]:
        cursor: str | None = None
        while True:
            items, cursor = paged.split(self.send(paged.page(cursor)))
            yield from items
            if not cursor:
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

    # --- endpoints (one line each: send what Requests builds) -----------------

    @_doc(Requests.health)
    def health(self) -> Health:
        return self.send(Requests.health())

    @_doc(Requests.create_trace)
    def create_trace(
        self,
        developer: Developer,
        task: Task,
        environment: Environment | None = None,
        *,
        token: str | None = None,
    ) -> CreateTraceResponse:
        return self.send(Requests.create_trace(developer, task, environment, token=token))

    @_doc(Requests.upload_events)
    def upload_events(
        self, trace_id: str, seq: int, events: Iterable[Any], *, token: str | None = None
    ) -> BatchAccepted:
        return self.send(Requests.upload_events(trace_id, seq, events, token=token))

    @_doc(Requests.finalize)
    def finalize(
        self, trace_id: str, artifacts: Artifacts | None = None, *, token: str | None = None
    ) -> FinalizeResponse:
        return self.send(Requests.finalize(trace_id, artifacts, token=token))

    @_doc(Requests.delete_trace)
    def delete_trace(self, trace_id: str) -> TraceDeleted:
        return self.send(Requests.delete_trace(trace_id))

    @overload
    def get_trace(self, trace_id: str) -> Trace: ...
    @overload
    def get_trace(self, trace_id: str, format: Literal["native"]) -> Trace: ...
    @overload
    def get_trace(self, trace_id: str, format: Literal["seed"]) -> dict[str, Any]: ...
    @_doc(Requests.get_trace)
    def get_trace(self, trace_id: str, format: str = "native") -> Any:  # noqa: A002
        return self.send(Requests.get_trace(trace_id, format))

    @_doc(Requests.get_trace_raw)
    def get_trace_raw(self, trace_id: str, format: str = "native") -> msgspec.Raw:  # noqa: A002
        return self.send(Requests.get_trace_raw(trace_id, format))

    @_doc(Requests.get_agent_trace)
    def get_agent_trace(self, trace_id: str) -> dict[str, Any]:
        return self.send(Requests.get_agent_trace(trace_id))

    @_doc(Requests.list_traces)
    def list_traces(self, **filters: Any) -> TraceList:
        return self.send(Requests.list_traces(**filters))

    @_doc(Requests.iter_traces)
    def iter_traces(self, **filters: Any) -> Iterator[TraceSummary]:
        return self._pages(Requests.iter_traces(**filters))

    @_doc(Requests.list_events)
    def list_events(
        self,
        trace_id: str,
        type: str | Sequence[str] | None = None,  # noqa: A002 - the API's parameter name
        after: str | None = None,
        limit: int | None = None,
        **filters: Any,
    ) -> StoredEventList:
        return self.send(Requests.list_events(trace_id, type, after, limit, **filters))

    @_doc(Requests.iter_events)
    def iter_events(
        self,
        trace_id: str,
        type: str | Sequence[str] | None = None,  # noqa: A002 - the API's parameter name
        page_size: int | None = None,
        **filters: Any,
    ) -> Iterator[Any]:
        return self._pages(Requests.iter_events(trace_id, type, page_size, **filters))

    @_doc(Requests.export)
    def export(
        self,
        *,
        types: str | Sequence[str] | None = None,
        max_output_bytes: int | None = None,
        format: str = "native",  # noqa: A002 - the API's parameter name
        swebench_strings: bool | None = None,
        **filters: Any,
    ) -> Iterator[bytes]:
        return self._stream_lines(
            Requests.export(
                types=types,
                max_output_bytes=max_output_bytes,
                format=format,
                swebench_strings=swebench_strings,
                **filters,
            )
        )

    @_doc(Requests.request_qa)
    def request_qa(self, trace_id: str) -> JobAccepted:
        return self.send(Requests.request_qa(trace_id))

    @_doc(Requests.get_job)
    def get_job(self, job_id: str) -> JobStatus:
        return self.send(Requests.get_job(job_id))

    @_doc(Requests.request_judge)
    def request_judge(
        self,
        trace_id: str,
        *,
        model: str | None = None,
        rubric: str | None = None,
        samples: int | None = None,
    ) -> JobAccepted:
        return self.send(
            Requests.request_judge(trace_id, model=model, rubric=rubric, samples=samples)
        )

    @_doc(Requests.list_judgements)
    def list_judgements(self, trace_id: str) -> JudgementList:
        return self.send(Requests.list_judgements(trace_id))

    # --- helpers --------------------------------------------------------------

    def wait_for_job(
        self,
        job_id: str,
        *,
        timeout: float = 900.0,
        poll: float = 1.0,
        on_poll: Callable[[JobStatus], None] | None = None,
    ) -> JobStatus:
        """Poll a job until it is done or failed; :class:`~prtrace.errors.JobTimeout`
        (a TimeoutError) after ``timeout`` s."""
        deadline = time.monotonic() + timeout
        while True:
            job = self.get_job(job_id)
            if on_poll:
                on_poll(job)
            if job.status in ("done", "error"):
                return job
            if time.monotonic() >= deadline:
                raise JobTimeout(f"job {job_id} still {job.status} after {timeout:.0f} s")
            time.sleep(poll)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class AsyncClient:
    """Asyncio client: the same methods as :class:`Client`, as coroutines.

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

    # --- sending -------------------------------------------------------------

    async def send(self, call: Call[T]) -> T:
        """Send one :class:`Call` and parse its answer (:func:`parse_response`)."""
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

    async def _pages(self, paged: Paged[Page, Item]) -> AsyncIterator[Item]:
        cursor: str | None = None
        while True:
            items, cursor = paged.split(await self.send(paged.page(cursor)))
            for item in items:
                yield item
            if not cursor:
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

    # --- endpoints (one line each: send what Requests builds) -----------------

    @_doc(Requests.health)
    async def health(self) -> Health:
        return await self.send(Requests.health())

    @_doc(Requests.create_trace)
    async def create_trace(
        self,
        developer: Developer,
        task: Task,
        environment: Environment | None = None,
        *,
        token: str | None = None,
    ) -> CreateTraceResponse:
        return await self.send(Requests.create_trace(developer, task, environment, token=token))

    @_doc(Requests.upload_events)
    async def upload_events(
        self, trace_id: str, seq: int, events: Iterable[Any], *, token: str | None = None
    ) -> BatchAccepted:
        return await self.send(Requests.upload_events(trace_id, seq, events, token=token))

    @_doc(Requests.finalize)
    async def finalize(
        self, trace_id: str, artifacts: Artifacts | None = None, *, token: str | None = None
    ) -> FinalizeResponse:
        return await self.send(Requests.finalize(trace_id, artifacts, token=token))

    @_doc(Requests.delete_trace)
    async def delete_trace(self, trace_id: str) -> TraceDeleted:
        return await self.send(Requests.delete_trace(trace_id))

    @overload
    async def get_trace(self, trace_id: str) -> Trace: ...
    @overload
    async def get_trace(self, trace_id: str, format: Literal["native"]) -> Trace: ...
    @overload
    async def get_trace(self, trace_id: str, format: Literal["seed"]) -> dict[str, Any]: ...
    @_doc(Requests.get_trace)
    async def get_trace(self, trace_id: str, format: str = "native") -> Any:  # noqa: A002
        return await self.send(Requests.get_trace(trace_id, format))

    @_doc(Requests.get_trace_raw)
    async def get_trace_raw(self, trace_id: str, format: str = "native") -> msgspec.Raw:  # noqa: A002
        return await self.send(Requests.get_trace_raw(trace_id, format))

    @_doc(Requests.get_agent_trace)
    async def get_agent_trace(self, trace_id: str) -> dict[str, Any]:
        return await self.send(Requests.get_agent_trace(trace_id))

    @_doc(Requests.list_traces)
    async def list_traces(self, **filters: Any) -> TraceList:
        return await self.send(Requests.list_traces(**filters))

    @_doc(Requests.iter_traces)
    def iter_traces(self, **filters: Any) -> AsyncIterator[TraceSummary]:
        return self._pages(Requests.iter_traces(**filters))

    @_doc(Requests.list_events)
    async def list_events(
        self,
        trace_id: str,
        type: str | Sequence[str] | None = None,  # noqa: A002 - the API's parameter name
        after: str | None = None,
        limit: int | None = None,
        **filters: Any,
    ) -> StoredEventList:
        return await self.send(Requests.list_events(trace_id, type, after, limit, **filters))

    @_doc(Requests.iter_events)
    def iter_events(
        self,
        trace_id: str,
        type: str | Sequence[str] | None = None,  # noqa: A002 - the API's parameter name
        page_size: int | None = None,
        **filters: Any,
    ) -> AsyncIterator[Any]:
        return self._pages(Requests.iter_events(trace_id, type, page_size, **filters))

    @_doc(Requests.export)
    def export(
        self,
        *,
        types: str | Sequence[str] | None = None,
        max_output_bytes: int | None = None,
        format: str = "native",  # noqa: A002 - the API's parameter name
        swebench_strings: bool | None = None,
        **filters: Any,
    ) -> AsyncIterator[bytes]:
        return self._stream_lines(
            Requests.export(
                types=types,
                max_output_bytes=max_output_bytes,
                format=format,
                swebench_strings=swebench_strings,
                **filters,
            )
        )

    @_doc(Requests.request_qa)
    async def request_qa(self, trace_id: str) -> JobAccepted:
        return await self.send(Requests.request_qa(trace_id))

    @_doc(Requests.get_job)
    async def get_job(self, job_id: str) -> JobStatus:
        return await self.send(Requests.get_job(job_id))

    @_doc(Requests.request_judge)
    async def request_judge(
        self,
        trace_id: str,
        *,
        model: str | None = None,
        rubric: str | None = None,
        samples: int | None = None,
    ) -> JobAccepted:
        return await self.send(
            Requests.request_judge(trace_id, model=model, rubric=rubric, samples=samples)
        )

    @_doc(Requests.list_judgements)
    async def list_judgements(self, trace_id: str) -> JudgementList:
        return await self.send(Requests.list_judgements(trace_id))

    # --- helpers --------------------------------------------------------------

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()


__all__ = [
    "ENDPOINTS",
    "APIError",
    "AsyncClient",
    "AuthError",
    "BackendUnreachable",
    "Call",
    "Client",
    "ConflictError",
    "InvalidRequest",
    "JobTimeout",
    "LineSplitter",
    "NotFoundError",
    "Paged",
    "PrtraceError",
    "Requests",
    "ServerError",
    "parse_response",
    "trace_filters",
]
