"""Keyset pagination for every list that only grows (activity, notifications, ...).

A page is ``?before=<id>&limit=<n>``, newest first by id, and the answer says where the
next page starts: ``{"items": [...], "next_before": <id> | null}`` (the query is read by
``cloud.api.deps.PageDep``). Keyset, not offset,
so a page stays correct while rows are being added: new rows get larger ids and land
before page one, never shifting what page two holds (no duplicates, no gaps).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, Generic, TypeAlias, TypeVar

from pydantic import BaseModel, Field
from sqlalchemy import Connection, Row, Select
from sqlalchemy.sql.elements import ColumnElement

DEFAULT_LIMIT: Final = 20
MAX_LIMIT: Final = 100

ItemT = TypeVar("ItemT")
AnyRow: TypeAlias = Row[*tuple[Any, ...]]
"""A result row of any shape (SQLAlchemy 2.1 types rows by their columns)."""
AnySelect: TypeAlias = Select[*tuple[Any, ...]]


class Page(BaseModel, Generic[ItemT]):
    """One page of a list, newest first."""

    items: list[ItemT]
    next_before: int | None = Field(description="pass as ?before= to get the next (older) page; null on the last page")


@dataclass(frozen=True, slots=True)
class PageRequest:
    """Where a page starts (exclusive; None: at the newest) and how many items it holds."""

    before: int | None = None
    limit: int = DEFAULT_LIMIT


def fetch_page(
    conn: Connection,
    query: AnySelect,
    id_column: ColumnElement[int],
    request: PageRequest,
    to_item: Callable[[AnyRow], ItemT],
) -> Page[ItemT]:
    """Run ``query`` (already filtered) for one page; ``id_column`` is the table's primary key.

    One extra row is read to learn whether an older page exists, so the last page says
    ``next_before: null`` instead of sending the client to an empty one.
    """
    if request.before is not None:
        query = query.where(id_column < request.before)
    rows = conn.execute(query.order_by(id_column.desc()).limit(request.limit + 1)).all()
    shown = rows[: request.limit]
    next_before = int(shown[-1]._mapping[id_column]) if len(rows) > request.limit else None
    return Page[ItemT](items=[to_item(row) for row in shown], next_before=next_before)
