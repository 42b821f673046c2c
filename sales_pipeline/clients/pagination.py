"""Pagination as small strategy objects.

A vendor method supplies one function, ``fetch(request_fields) -> Page``,
that sends a page request and extracts the page's items and paging hints
from that vendor's envelope. A `Paginator` decides from each `Page` what
the next request is; `iter_pages` drives the two. No method carries its own
``while`` loop.

Request fields are plain dicts whose meaning the vendor's fetch function
knows (query parameters, or keys of a search body).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from sales_pipeline.clients.errors import ServerError

RequestFields = dict[str, Any]


@dataclass(frozen=True)
class Page:
    """One page of results.

    Attributes:
        items: The page's records.
        next_cursor: The vendor's cursor for the next page, if it sent one.
        has_more: The vendor's own statement that more pages exist, if it made one.
    """

    items: list[Any]
    next_cursor: str | None = None
    has_more: bool | None = None


class PaginationStalledError(Exception):
    """A paginator saw no progress between two pages."""


class Paginator(Protocol):
    """Decides the request fields of each page."""

    def start(self) -> RequestFields:
        """Request fields of the first page."""

    def advance(self, page: Page) -> RequestFields | None:
        """Request fields of the page after ``page``, or ``None`` when done."""


class OffsetPaginator:
    """``offset``/``limit`` paging: stop on a short page or when the vendor says so.

    Args:
        limit: Page size requested.
        offset_key: Name of the offset field.
        limit_key: Name of the page-size field.
        page_key: If set, also send a 1-based page number under this name, for
            APIs that document both ``offset`` and ``page``.
    """

    def __init__(
        self,
        limit: int,
        *,
        offset_key: str = "offset",
        limit_key: str = "limit",
        page_key: str | None = None,
    ) -> None:
        self.limit = limit
        self._offset_key = offset_key
        self._limit_key = limit_key
        self._page_key = page_key
        self._offset = 0

    def start(self) -> RequestFields:
        """Offset 0."""
        self._offset = 0
        return self._fields()

    def advance(self, page: Page) -> RequestFields | None:
        """The next offset, unless the page was short or the vendor said it was the last."""
        if page.has_more is False or len(page.items) < self.limit:
            return None
        self._offset += len(page.items)
        return self._fields()

    def _fields(self) -> RequestFields:
        fields: RequestFields = {self._offset_key: self._offset, self._limit_key: self.limit}
        if self._page_key is not None:
            fields[self._page_key] = self._offset // self.limit + 1
        return fields


class KeysetRestartPaginator:
    """Cursor paging inside a query capped at ``result_cap`` results, restarted by key.

    For searches sorted ascending by a unique integer key whose cursor cannot
    go past ``result_cap`` (HubSpot search: 10,000). Pages follow the
    vendor's cursor; when the next page would cross the cap, the query
    restarts with ``after_key`` = the largest key seen and no cursor. Records
    sharing any other value (e.g. one modification timestamp) are still
    walked one by one, so nothing is lost, repeated, or looped over.

    Request fields: ``{"cursor": str | None, "after_key": int | None}``.

    Args:
        page_size: Results per page.
        result_cap: Largest offset + page size the vendor serves for one query.
        key: Extracts the integer sort key of a record.
    """

    def __init__(self, page_size: int, result_cap: int, key: Callable[[Any], int]) -> None:
        self.page_size = page_size
        self.result_cap = result_cap
        self._key = key
        self._query_after: int | None = None
        self._last_key: int | None = None
        self._in_query = 0
        self._last_cursor: str | None = None

    def start(self) -> RequestFields:
        """First page of the first query."""
        self._query_after = self._last_key = None
        self._in_query = 0
        self._last_cursor = None
        return {"cursor": None, "after_key": None}

    def advance(self, page: Page) -> RequestFields | None:
        """Follow the cursor, restart past the cap, stop when no cursor comes back.

        Raises:
            PaginationStalledError: The cursor repeated, or a restart would not move
                past the previous one.
        """
        if page.items:
            newest = max(self._key(item) for item in page.items)
            self._last_key = newest if self._last_key is None else max(self._last_key, newest)
        self._in_query += len(page.items)
        cursor = page.next_cursor
        if cursor is None:
            return None
        if cursor == self._last_cursor:
            raise PaginationStalledError(f"cursor {cursor!r} repeated")
        position = int(cursor) if cursor.isdigit() else self._in_query
        if position + self.page_size <= self.result_cap:
            self._last_cursor = cursor
            return {"cursor": cursor, "after_key": self._query_after}
        if self._last_key is None or self._last_key == self._query_after:
            raise PaginationStalledError("result cap reached without a new key to restart after")
        self._query_after = self._last_key
        self._in_query = 0
        self._last_cursor = None
        return {"cursor": None, "after_key": self._query_after}


def iter_pages(
    fetch: Callable[[Mapping[str, Any]], Page],
    paginator: Paginator,
    *,
    vendor: str,
    operation: str,
) -> Iterator[Page]:
    """Yield every page: ``fetch`` the paginator's fields until it returns ``None``.

    Raises:
        ServerError: The vendor's paging stopped making progress (not retryable).
    """
    fields: RequestFields | None = paginator.start()
    while fields is not None:
        page = fetch(fields)
        yield page
        try:
            fields = paginator.advance(page)
        except PaginationStalledError as exc:
            raise ServerError(
                f"pagination stalled: {exc}", vendor=vendor, operation=operation, retryable=False
            ) from exc
