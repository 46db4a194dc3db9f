"""Trace filters shared by ``GET /traces`` and ``GET /export``.

One :class:`TraceFilters` is parsed from the query string and applied to a
SELECT by :func:`apply`, so listing and exporting always agree.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import msgspec
from sqlalchemy import Select

from backend.db import traces


class TraceFilters(msgspec.Struct, kw_only=True):
    status: Literal["open", "sealed"] | None = None
    developer: str | None = None
    repository: str | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None
    limit: int = 50
    cursor: str | None = None


def apply(query: Select, filters: TraceFilters) -> Select:
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
    return query
