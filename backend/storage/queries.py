"""Trace and event filters: the one place a query string becomes SQL.

One :class:`TraceFilters` is parsed from the query string and applied to a
SELECT by :func:`apply`, so listing (``GET /traces``), exporting
(``GET /export``) and the web viewer always agree on what matches. Sorting
and cursor paging live here too, because a cursor is only correct for the
order it was made under: it carries the sort it belongs to and the sort key of
the last row, and the next page starts strictly after that (key, trace_id).

:class:`EventFilters` does the same for ``GET /traces/{id}/events``.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec
from litestar.params import Parameter
from sqlalchemy import ColumnElement, Select, cast, exists, func, literal, or_, tuple_
from sqlalchemy import Float as SAFloat
from sqlalchemy import Text as SAText
from sqlalchemy.dialects.postgresql import JSONB

from prtrace.backend.errors import ApiError
from prtrace.backend.storage.db import events, trace_event_types, traces

TraceSort = Literal["created", "-created", "overall", "-overall"]
"""``created``/``overall`` ascending; with a leading ``-`` descending."""

DEFAULT_SORT: TraceSort = "-created"

# NULL scores sort last in both directions: the key is the score, or a value
# beyond every real score on the far side of the order.
_NULL_LAST = {"overall": 1e300, "-overall": -1e300}


class ScoreRange(msgspec.Struct, frozen=True):
    """One judge dimension's score within [low, high] (either bound may be open)."""

    dimension: str
    low: float | None = None
    high: float | None = None


_DIMENSION = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


def parse_score_ranges(values: list[str] | None) -> list[ScoreRange] | None:
    """``DIM:MIN:MAX`` (``use_of_evidence:3:``, ``reproducibility::2``) → ranges; 400 if not."""
    ranges = []
    for value in values or ():
        parts = value.split(":")
        if len(parts) != 3 or not _DIMENSION.match(parts[0]) or not (parts[1] or parts[2]):
            raise ApiError(
                400,
                f"score must be DIMENSION:MIN:MAX with at least one bound, not {value!r}",
                "score",
            )
        try:
            low, high = (float(p) if p else None for p in parts[1:])
        except ValueError:
            raise ApiError(400, f"score bounds must be numbers in {value!r}", "score") from None
        ranges.append(ScoreRange(parts[0], low, high))
    return ranges or None


_VERDICT = re.compile(r"^[a-z][a-z_]{0,39}$")


def parse_verdicts(values: list[str] | None) -> list[str] | None:
    """Verdict names (``resolved``, ``not_resolved``…); 400 naming the field if one is not."""
    for value in values or ():
        if not _VERDICT.match(value):
            raise ApiError(
                400, f"verdict must be a verdict name like resolved, not {value!r}", "verdict"
            )
    return values


def parse_share_range(value: str | None) -> tuple[float | None, float | None]:
    """``MIN:MAX`` (``0.5:``, ``:0.1``, ``0:1``) of an AI share in [0, 1]; 400 if not."""
    if value is None:
        return None, None
    parts = value.split(":")
    if len(parts) != 2 or not (parts[0] or parts[1]):
        raise ApiError(
            400, f"ai_share must be MIN:MAX with at least one bound, not {value!r}", "ai_share"
        )
    try:
        low, high = (float(p) if p else None for p in parts)
    except ValueError:
        raise ApiError(400, f"ai_share bounds must be numbers in {value!r}", "ai_share") from None
    if any(b is not None and not 0 <= b <= 1 for b in (low, high)):
        raise ApiError(400, f"ai_share bounds must be between 0 and 1 in {value!r}", "ai_share")
    return low, high


class TraceFilters(msgspec.Struct, kw_only=True):
    status: Literal["open", "sealed"] | None = None
    developer: str | None = None
    repository: str | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None
    verdict: list[str] | None = None
    qa_status: list[str] | None = None
    overall_min: float | None = None
    overall_max: float | None = None
    has_type: list[str] | None = None
    """Only traces with at least one event of each of these types."""
    scores: list[ScoreRange] | None = None
    """The latest judgement's per-dimension scores within these ranges."""
    ai_share_min: float | None = None
    ai_share_max: float | None = None
    """``artifacts.attribution.ai_share``: the agent-written share of the final patch's lines."""
    agent: str | None = None
    """Only traces in which this AI agent (``claude-code``, ``cursor``) acted."""
    sort: TraceSort = DEFAULT_SORT
    limit: int = 50
    cursor: str | None = None


def apply(query: Select, filters: TraceFilters, *, is_sqlite: bool) -> Select:
    """Add the WHERE clauses of ``filters`` (not sort, limit or cursor)."""
    if filters.status:
        query = query.where(traces.c.status == filters.status)
    if filters.developer:
        query = query.where(traces.c.developer_id == filters.developer)
    if filters.repository:
        query = query.where(traces.c.repository == filters.repository)
    if filters.created_after:
        query = query.where(traces.c.created_at >= filters.created_after.timestamp())
    if filters.created_before:
        query = query.where(traces.c.created_at < filters.created_before.timestamp())
    if filters.verdict:
        query = query.where(traces.c.verdict.in_(filters.verdict))
    if filters.qa_status:
        query = query.where(traces.c.qa_status.in_(filters.qa_status))
    if filters.overall_min is not None:
        query = query.where(traces.c.overall >= filters.overall_min)
    if filters.overall_max is not None:
        query = query.where(traces.c.overall <= filters.overall_max)
    for event_type in filters.has_type or ():
        # One EXISTS per type, each a primary-key probe of trace_event_types.
        query = query.where(
            exists().where(
                trace_event_types.c.trace_id == traces.c.trace_id,
                trace_event_types.c.type == event_type,
            )
        )
    if filters.ai_share_min is not None or filters.ai_share_max is not None:
        share = _ai_share(is_sqlite)
        if filters.ai_share_min is not None:
            query = query.where(share >= filters.ai_share_min)
        if filters.ai_share_max is not None:
            query = query.where(share <= filters.ai_share_max)
    if filters.agent:
        query = query.where(
            exists().where(
                events.c.trace_id == traces.c.trace_id,
                events.c.type == "agent_session",
                _event_field("agent", is_sqlite) == filters.agent,
            )
        )
    for wanted in filters.scores or ():
        score = _judge_score(wanted.dimension, is_sqlite)
        if wanted.low is not None:
            query = query.where(score >= wanted.low)
        if wanted.high is not None:
            query = query.where(score <= wanted.high)
    return query


def _ai_share(is_sqlite: bool) -> ColumnElement[Any]:
    """``artifacts.attribution.ai_share`` as a number (NULL without an attribution)."""
    if is_sqlite:
        return func.json_extract(cast(traces.c.artifacts, SAText), "$.attribution.ai_share")
    doc = cast(func.convert_from(traces.c.artifacts, literal("UTF8")), JSONB)
    path = doc.op("->")(literal("attribution")).op("->>")(literal("ai_share"))
    return cast(path, SAFloat)


def _event_field(name: str, is_sqlite: bool) -> ColumnElement[Any]:
    """A top-level string field of a stored event's JSON body."""
    if is_sqlite:
        return func.json_extract(cast(events.c.body, SAText), f"$.{name}")
    body = cast(func.convert_from(events.c.body, literal("UTF8")), JSONB)
    return body.op("->>")(literal(name))


def _judge_score(dimension: str, is_sqlite: bool) -> ColumnElement[Any]:
    """``qa.judge.scores.<dimension>`` of the stored judgement, as a number (NULL if absent)."""
    if is_sqlite:
        return func.json_extract(cast(traces.c.qa_judge, SAText), f"$.scores.{dimension}")
    judge = cast(func.convert_from(traces.c.qa_judge, literal("UTF8")), JSONB)
    return cast(judge.op("->")(literal("scores")).op("->>")(literal(dimension)), SAFloat)


def _sort_key(sort: TraceSort) -> ColumnElement[Any]:
    if sort.lstrip("-") == "created":
        return traces.c.created_at
    return func.coalesce(traces.c.overall, literal(_NULL_LAST[sort], SAFloat))


def page(query: Select, filters: TraceFilters) -> Select:
    """Order by the sort (trace_id breaks ties), start after the cursor, limit.

    ``query`` must select the key columns :func:`next_cursor` reads back
    (``created_at``, ``overall``, ``trace_id``).
    """
    key = _sort_key(filters.sort)
    descending = filters.sort.startswith("-")
    if filters.cursor:
        value, trace_id = decode_cursor(filters.cursor, filters.sort)
        position = tuple_(key, traces.c.trace_id)
        after = tuple_(literal(value, SAFloat), literal(trace_id))
        query = query.where(position < after if descending else position > after)
    if descending:
        query = query.order_by(key.desc(), traces.c.trace_id.desc())
    else:
        query = query.order_by(key.asc(), traces.c.trace_id.asc())
    return query.limit(filters.limit)


def next_cursor(rows: Sequence[Any], filters: TraceFilters) -> str | None:
    """The cursor after the last row of a full page; None after the last page."""
    if len(rows) < filters.limit or not rows:
        return None
    last = rows[-1]
    if filters.sort.lstrip("-") == "created":
        value = last.created_at
    else:
        value = last.overall if last.overall is not None else _NULL_LAST[filters.sort]
    payload = msgspec.json.encode([filters.sort, value, last.trace_id])
    return base64.urlsafe_b64encode(payload).decode().rstrip("=")


def decode_cursor(cursor: str, sort: TraceSort) -> tuple[float, str]:
    """(sort key, trace_id) from a cursor; 422 if it is not ours or not for ``sort``."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        made_for, value, trace_id = msgspec.json.decode(raw, type=tuple[str, float, str])
    except (binascii.Error, ValueError, msgspec.DecodeError):
        raise ApiError(422, "not a cursor from a previous page's next_cursor", "cursor") from None
    if made_for != sort:
        raise ApiError(422, f"this cursor was made for sort={made_for}, not sort={sort}", "cursor")
    return value, trace_id


# --- events ------------------------------------------------------------------------

TEXT_FIELDS = ("cmd", "raw")
"""Where ``q`` looks: a command line (terminal_command) and a note (thought)."""


class EventFilters(msgspec.Struct, kw_only=True):
    types: list[str] = msgspec.field(default_factory=list)
    path: str | None = None
    """Events about this file (their ``path`` or ``from_path``)."""
    since: datetime | None = None
    until: datetime | None = None
    q: str | None = None
    """Case-insensitive text in a command line or a note."""


def _json_field(name: str, is_sqlite: bool) -> ColumnElement[Any]:
    """One top-level string field of the stored event JSON, as SQL text."""
    if is_sqlite:
        return func.json_extract(cast(events.c.body, SAText), f"$.{name}")
    text = func.convert_from(events.c.body, literal("UTF8"))
    return cast(text, JSONB).op("->>")(literal(name))


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def apply_events(query: Select, filters: EventFilters, *, is_sqlite: bool) -> Select:
    """Add the WHERE clauses of ``filters`` to a SELECT over ``events``."""
    if filters.types:
        query = query.where(events.c.type.in_(filters.types))
    if filters.since:
        query = query.where(events.c.t >= filters.since.timestamp())
    if filters.until:
        query = query.where(events.c.t < filters.until.timestamp())
    if filters.path:
        query = query.where(
            or_(
                _json_field("path", is_sqlite) == filters.path,
                _json_field("from_path", is_sqlite) == filters.path,
            )
        )
    if filters.q:
        pattern = f"%{_like_escape(filters.q.lower())}%"
        query = query.where(
            or_(
                *(
                    func.lower(_json_field(name, is_sqlite)).like(pattern, escape="\\")
                    for name in TEXT_FIELDS
                )
            )
        )
    return query


# --- from the query string ---------------------------------------------------------


def split_values(values: list[str] | None) -> list[str] | None:
    """Repeated and comma-separated values alike: ``?type=a&type=b`` = ``?type=a,b``."""
    out = [v for value in values or [] for v in value.split(",") if v]
    return out or None


def trace_filters_from_query(
    status: Literal["open", "sealed"] | None = None,
    developer: str | None = None,
    repository: str | None = None,
    created_after: datetime | None = None,
    created_before: datetime | None = None,
    verdict: list[str] | None = None,
    qa_status: list[str] | None = None,
    overall_min: float | None = None,
    overall_max: float | None = None,
    has_type: list[str] | None = None,
    score: list[str] | None = None,
    ai_share: str | None = None,
    agent: str | None = None,
    sort: TraceSort = DEFAULT_SORT,
    limit: Annotated[int, Parameter(ge=1, le=500)] = 50,
    cursor: str | None = None,
) -> TraceFilters:
    """The Litestar dependency both ``GET /traces`` and ``GET /export`` declare."""
    share_min, share_max = parse_share_range(ai_share or None)  # empty: no filter, like the others
    return TraceFilters(
        ai_share_min=share_min,
        ai_share_max=share_max,
        agent=agent or None,
        status=status,
        developer=developer,
        repository=repository,
        created_after=created_after,
        created_before=created_before,
        verdict=parse_verdicts(split_values(verdict)),
        qa_status=split_values(qa_status),
        overall_min=overall_min,
        overall_max=overall_max,
        has_type=split_values(has_type),
        scores=parse_score_ranges(split_values(score)),
        sort=sort,
        limit=limit,
        cursor=cursor,
    )


def event_filters_from_query(
    type: list[str] | None = None,  # noqa: A002 - the API's parameter name
    path: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    q: str | None = None,
) -> EventFilters:
    """The Litestar dependency of ``GET /traces/{id}/events``."""
    return EventFilters(types=split_values(type) or [], path=path, since=since, until=until, q=q)
