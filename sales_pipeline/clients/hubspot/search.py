"""HubSpot contact search: windows by ``lastmodifieddate``, walked past the 10,000 cap.

Search (``POST /crm/{v}/objects/contacts/search``) serves at most 10,000
results per query (paging past it answers 400) at 200 per page. Windows are
walked by keyset: filter the time window AND ``hs_object_id > last id``, sort
by ``hs_object_id`` ascending, follow ``paging.next.after``, and at the cap
restart the query after the last id. Thousands of contacts sharing one
``lastmodifieddate`` are therefore walked like any others.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

from sales_pipeline.clients.hubspot.endpoints import SEARCH_PAGE_SIZE, SEARCH_RESULT_CAP, VENDOR
from sales_pipeline.clients.pagination import KeysetRestartPaginator, Page, iter_pages
from sales_pipeline.clients.validation import Validator

ALWAYS_FETCHED = ("hs_object_id", "lastmodifieddate")
"""Properties every search asks for: the keyset key and the window's property."""
PROPERTY_NAME = re.compile(r"[a-z0-9_]{1,100}")

SearchCall = Callable[[dict[str, Any]], Mapping[str, Any]]
"""Sends one search body and returns HubSpot's answer."""


def walk_window(
    search: SearchCall, start_ms: int, end_ms: int, names: list[str]
) -> Iterator[Mapping[str, Any]]:
    """Every contact modified in ``[start_ms, end_ms)``, once, by ascending id."""
    window = [
        {"propertyName": "lastmodifieddate", "operator": "GTE", "value": str(start_ms)},
        {"propertyName": "lastmodifieddate", "operator": "LT", "value": str(end_ms)},
    ]

    def fetch(fields: Mapping[str, Any]) -> Page:
        filters = list(window)
        if fields["after_key"] is not None:
            filters.append(
                {
                    "propertyName": "hs_object_id",
                    "operator": "GT",
                    "value": str(fields["after_key"]),
                }
            )
        body: dict[str, Any] = {
            "filterGroups": [{"filters": filters}],
            "sorts": [{"propertyName": "hs_object_id", "direction": "ASCENDING"}],
            "properties": names,
            "limit": SEARCH_PAGE_SIZE,
        }
        if fields["cursor"] is not None:
            body["after"] = fields["cursor"]
        data = search(body)
        return Page(items=list(data.get("results") or []), next_cursor=_next_after(data))

    paginator = KeysetRestartPaginator(SEARCH_PAGE_SIZE, SEARCH_RESULT_CAP, key=_record_id)
    last_id = -1
    for page in iter_pages(fetch, paginator, vendor=VENDOR, operation="search_contacts"):
        for contact in page.items:
            if _record_id(contact) > last_id:
                last_id = _record_id(contact)
                yield contact


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
