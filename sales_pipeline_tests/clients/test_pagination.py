"""Paginator strategies without a network."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from sales_pipeline.clients import ServerError
from sales_pipeline.clients.pagination import (
    KeysetRestartPaginator,
    OffsetPaginator,
    Page,
    iter_pages,
)


def test_offset_paginator_stops_when_the_vendor_says_it_was_the_last_page():
    paginator = OffsetPaginator(2)

    assert paginator.start() == {"offset": 0, "limit": 2}
    assert paginator.advance(Page(items=[1, 2])) == {"offset": 2, "limit": 2}
    assert paginator.advance(Page(items=[3, 4], has_more=False)) is None


def test_keyset_paginator_restarts_after_the_last_key_at_the_cap():
    paginator = KeysetRestartPaginator(page_size=2, result_cap=4, key=int)
    paginator.start()

    assert paginator.advance(Page(items=["1", "2"], next_cursor="2")) == {
        "cursor": "2",
        "after_key": None,
    }
    assert paginator.advance(Page(items=["3", "4"], next_cursor="4")) == {
        "cursor": None,
        "after_key": 4,
    }
    assert paginator.advance(Page(items=["5"], next_cursor=None)) is None


def test_a_repeating_cursor_is_reported_instead_of_looping():
    def fetch(_: Mapping[str, Any]) -> Page:
        return Page(items=[], next_cursor="200")

    pages = iter_pages(
        fetch,
        KeysetRestartPaginator(page_size=200, result_cap=10_000, key=int),
        vendor="hubspot",
        operation="search_contacts",
    )

    with pytest.raises(ServerError, match="stalled"):
        list(pages)
