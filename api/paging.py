"""Query parameters of the paged lists (decisions, the audit logs) and their unknown cursor.

A list is read oldest first; its cursor is the last item's own id, never the
table's row number, which would tell one unit how many rows the others
wrote meanwhile.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Protocol

from fastapi import Query

from api.common import UUID_PATTERN, IsoDateTime
from api.problems import Problem

Cursor = Annotated[
    str | None,
    Query(
        pattern=UUID_PATTERN,
        description="next_cursor of the previous page (the id of its last item)",
        examples=["9b2e4f10-3c5d-4a6b-8e7f-0a1b2c3d4e5f"],
    ),
]


def bad_cursor() -> Problem:
    """A cursor that is no item of the caller's list (or one purged since): 404."""
    return Problem(
        404,
        "unknown-cursor",
        "Unknown cursor",
        "no item of this list has the id given as cursor; start again without a cursor",
    )


class _Stored(Protocol):
    @property
    def id(self) -> int | None: ...


def start_after(cursor: str | None, find: Callable[[str], _Stored | None]) -> int | None:
    """The row id a page starts after: None without a cursor; `bad_cursor` when `find`
    (which returns None for an item the caller may not see) knows no such item."""
    if not cursor:
        return None
    last = find(cursor)
    if last is None:
        raise bad_cursor()
    return last.id


Limit = Annotated[int, Query(ge=1, le=500, description="page size", examples=[100])]
Since = Annotated[
    IsoDateTime | None,
    Query(description="written at or after (ISO 8601)", examples=["2024-05-01T00:00:00Z"]),
]
Until = Annotated[
    IsoDateTime | None,
    Query(description="written before (ISO 8601)", examples=["2024-06-01T00:00:00Z"]),
]
