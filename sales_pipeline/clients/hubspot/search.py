"""HubSpot contact search: windows by ``lastmodifieddate``, walked past the 10,000 cap.

Search (``POST /crm/{v}/objects/contacts/search``) serves at most 10,000
results per query (paging past it answers 400) at 200 per page. Windows are
walked by keyset: filter the time window AND ``hs_object_id > last id``, sort
by ``hs_object_id`` ascending, follow ``paging.next.after``, and at the cap
restart the query after the last id. Thousands of contacts sharing one
``lastmodifieddate`` are therefore walked like any others.

Search answers in hundreds of milliseconds but allows 5 requests per second, so one page at a
time uses about a third of the budget. When ``after`` is the numeric offset HubSpot's answers
show (``"after": "200"`` after the first 200 results) and the first page carries ``total``,
the whole walk is known from that first page: page ``j`` is offset ``200 * (j % 50)`` of the
``j // 50``-th keyset query, whose key is the largest id of the page closing the query before
it. `walk_window` then fetches the pages several at a time (`Concurrently`), requesting each
query's closing page first so the next query's key is known long before its pages are due. An
opaque cursor, a short first page or a missing ``total`` falls back to following the cursor
one page at a time. A window that changes under the walk (a planned page comes back without
the key it should give, or the last page still has a next page) is finished by a new walk
after the last id yielded, so no contact is lost or repeated either way.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sales_pipeline.clients.errors import ServerError
from sales_pipeline.clients.hubspot.endpoints import SEARCH_PAGE_SIZE, SEARCH_RESULT_CAP, VENDOR
from sales_pipeline.clients.pagination import KeysetRestartPaginator, Page, iter_pages
from sales_pipeline.clients.validation import Validator

ALWAYS_FETCHED = ("hs_object_id", "lastmodifieddate")
"""Properties every search asks for: the keyset key and the window's property."""
PROPERTY_NAME = re.compile(r"[a-z0-9_]{1,100}")
PAGES_PER_QUERY = SEARCH_RESULT_CAP // SEARCH_PAGE_SIZE
"""Pages one keyset query serves before the cap (50)."""
OPERATION = "search_contacts"

SearchCall = Callable[[dict[str, Any]], Mapping[str, Any]]
"""Sends one search body and returns HubSpot's answer."""


@dataclass(frozen=True)
class PlannedPage:
    """Page ``index`` of a planned walk: offset ``offset`` of keyset query ``query``."""

    index: int
    query: int
    offset: int


Fetched = tuple[int, Page | None]
"""A planned page's index and the page (``None``: its query's key could not be learnt)."""

Concurrently = Callable[
    [Callable[[PlannedPage], Fetched], Iterable[PlannedPage]], Iterator[Fetched]
]
"""Runs the work on each item, several at once, yielding results in item order
(`VendorClient.concurrently`)."""


def serially(
    work: Callable[[PlannedPage], Fetched], items: Iterable[PlannedPage]
) -> Iterator[Fetched]:
    """One page at a time, in the caller's thread."""
    return map(work, items)


class _Window:
    """The search bodies and answers of one ``[start_ms, end_ms)`` window."""

    def __init__(self, search: SearchCall, start_ms: int, end_ms: int, names: list[str]) -> None:
        self._search = search
        self._filters = [
            {"propertyName": "lastmodifieddate", "operator": "GTE", "value": str(start_ms)},
            {"propertyName": "lastmodifieddate", "operator": "LT", "value": str(end_ms)},
        ]
        self._names = names

    def fetch(self, after_id: int | None, cursor: str | None) -> tuple[Page, Any]:
        """The page at ``cursor`` of the query for ids above ``after_id``, and its ``total``."""
        filters = list(self._filters)
        if after_id is not None:
            filters.append(
                {"propertyName": "hs_object_id", "operator": "GT", "value": str(after_id)}
            )
        body: dict[str, Any] = {
            "filterGroups": [{"filters": filters}],
            "sorts": [{"propertyName": "hs_object_id", "direction": "ASCENDING"}],
            "properties": self._names,
            "limit": SEARCH_PAGE_SIZE,
        }
        if cursor is not None:
            body["after"] = cursor
        data = self._search(body)
        page = Page(items=list(data.get("results") or []), next_cursor=_next_after(data))
        return page, data.get("total")


def walk_window(
    search: SearchCall,
    start_ms: int,
    end_ms: int,
    names: list[str],
    concurrently: Concurrently = serially,
) -> Iterator[Mapping[str, Any]]:
    """Every contact modified in ``[start_ms, end_ms)``, once, by ascending id.

    Pages run through ``concurrently`` when the walk can be planned (see the module's
    docstring). An id not above the last one yielded is dropped, so pages that overlap (the
    window changed under the walk) never repeat a contact.

    Raises:
        ServerError: The walk stopped making progress (not retryable).
    """
    window = _Window(search, start_ms, end_ms, names)
    last_id: int | None = None
    while True:
        resume = last_id
        pages = _pages_after(window, resume, concurrently)
        while True:
            try:
                page = next(pages)
            except StopIteration as finished:
                complete: bool = finished.value
                break
            for contact in page.items:
                if last_id is None or _record_id(contact) > last_id:
                    last_id = _record_id(contact)
                    yield contact
        if complete:
            return
        if last_id == resume:
            raise ServerError(
                "pagination stalled: the window changed under every planned walk",
                vendor=VENDOR,
                operation=OPERATION,
                retryable=False,
            )


def _pages_after(
    window: _Window, after_id: int | None, concurrently: Concurrently
) -> Generator[Page, None, bool]:
    """The window's pages for ids above ``after_id``, planned and concurrent when the first
    page allows it, else followed by cursor; returns whether the walk reached the end (a
    planned walk stops early when a query's key could not be learnt or the window grew past
    its planned end)."""
    first, total = window.fetch(after_id, None)
    planned = _plan(first, total)
    if planned is None:
        yield from iter_pages(
            _Followed(window, after_id, first),
            KeysetRestartPaginator(SEARCH_PAGE_SIZE, SEARCH_RESULT_CAP, key=_record_id),
            vendor=VENDOR,
            operation=OPERATION,
        )
        return True
    yield first
    keys = _QueryKeys(after_id, planned[-1].query + 1 if planned else 1)
    last = first
    for page in _in_index_order(concurrently(keys.fetch(window), planned)):
        if page is None:
            return False
        yield page
        last = page
    return last.next_cursor is None


class _Followed:
    """The fetch of a cursor-followed walk above ``after_id`` whose first page is ``first``."""

    def __init__(self, window: _Window, after_id: int | None, first: Page) -> None:
        self._window = window
        self._after_id = after_id
        self._first: Page | None = first

    def __call__(self, fields: Mapping[str, Any]) -> Page:
        """The page ``fields`` ask for (the first one is already here)."""
        if self._first is not None:
            page, self._first = self._first, None
            return page
        key = fields["after_key"] if fields["after_key"] is not None else self._after_id
        return self._window.fetch(key, fields["cursor"])[0]


def _plan(first: Page, total: Any) -> list[PlannedPage] | None:
    """The pages after ``first`` in the order to request them, each query's closing page
    first; ``None`` when the first page does not show ``after`` as a numeric offset or
    carries no ``total``."""
    if first.next_cursor is None:
        return []
    full = len(first.items) == SEARCH_PAGE_SIZE
    if not isinstance(total, int) or not full or first.next_cursor != str(SEARCH_PAGE_SIZE):
        return None
    count = -(-total // SEARCH_PAGE_SIZE)
    order: list[PlannedPage] = []
    for query_start in range(0, count, PAGES_PER_QUERY):
        indexes = list(range(max(query_start, 1), min(query_start + PAGES_PER_QUERY, count)))
        closing = query_start + PAGES_PER_QUERY - 1
        if closing < count - 1:
            indexes.remove(closing)
            indexes.insert(0, closing)
        order += [
            PlannedPage(i, i // PAGES_PER_QUERY, i % PAGES_PER_QUERY * SEARCH_PAGE_SIZE)
            for i in indexes
        ]
    return order


class _QueryKeys:
    """The id each planned keyset query starts after, learnt from the closing page of the
    query before it. A page of a later query waits for its key: the closing page was
    requested before it, so it is already running (or done)."""

    def __init__(self, first_key: int | None, queries: int) -> None:
        self._keys: dict[int, int | None] = {0: first_key}
        self._known = [threading.Event() for _ in range(queries)]
        self._known[0].set()

    def fetch(self, window: _Window) -> Callable[[PlannedPage], Fetched]:
        """The work that fetches one planned page of ``window``."""

        def fetch_page(slot: PlannedPage) -> Fetched:
            self._known[slot.query].wait()
            if slot.query not in self._keys:
                return slot.index, None
            closes_query = slot.offset == SEARCH_RESULT_CAP - SEARCH_PAGE_SIZE
            try:
                page, _ = window.fetch(
                    self._keys[slot.query], str(slot.offset) if slot.offset else None
                )
                if closes_query and page.items:
                    self._keys[slot.query + 1] = max(_record_id(item) for item in page.items)
            finally:
                if closes_query and slot.query + 1 < len(self._known):
                    self._known[slot.query + 1].set()
            return slot.index, page

        return fetch_page


def _in_index_order(fetched: Iterator[Fetched]) -> Iterator[Page | None]:
    """Planned pages back in page order (a query's closing page, requested first, is held
    until the pages before it have come)."""
    held: dict[int, Page | None] = {}
    following = 1
    for index, page in fetched:
        held[index] = page
        while following in held:
            yield held.pop(following)
            following += 1


def count_body(since_ms: int) -> dict[str, Any]:
    """A one-result search whose ``total`` counts contacts modified since ``since_ms``."""
    return {
        "filterGroups": [
            {
                "filters": [
                    {"propertyName": "lastmodifieddate", "operator": "GTE", "value": str(since_ms)}
                ]
            }
        ],
        "properties": ["hs_object_id"],
        "limit": 1,
    }


def epoch_ms(check: Validator, moment: datetime, field: str) -> int:
    """``moment`` in epoch milliseconds, as HubSpot filters dates; it must be aware."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        check.fail(field, "must be timezone-aware")
    return int(moment.timestamp() * 1000)


def window_ms(check: Validator, start: datetime, end: datetime) -> tuple[int, int]:
    """``(start, end)`` in epoch milliseconds; ``end`` must come after ``start``."""
    start_ms, end_ms = epoch_ms(check, start, "start"), epoch_ms(check, end, "end")
    if end_ms <= start_ms:
        check.fail("end", "must be after start")
    return start_ms, end_ms


def property_names(check: Validator, names: Sequence[str]) -> list[str]:
    """``names`` checked as property internal names, repeats dropped, order kept."""
    for i, name in enumerate(names):
        check.pattern(name, f"properties[{i}]", PROPERTY_NAME, "a property internal name")
    return list(dict.fromkeys(names))


def _record_id(record: Mapping[str, Any]) -> int:
    return int(record["id"])


def _next_after(data: Mapping[str, Any]) -> str | None:
    after = ((data.get("paging") or {}).get("next") or {}).get("after")
    return str(after) if after is not None else None
