"""Frame helpers every stage shares."""

import pandas as pd
import pytest

from sales_pipeline.transforms.frames import is_in, map_distinct

EMAILS = pd.Series(
    ["ana@acme.com", None, "bob@acme.com", "ana@acme.com", "eve@corp.io"],
    index=[10, 11, 12, 13, 14],
    dtype="str",
)


@pytest.mark.parametrize(
    "candidates",
    [
        ["ana@acme.com", "nobody@acme.com"],
        {"eve@corp.io", "bob@acme.com"},
        pd.Series(["bob@acme.com"], dtype="str"),
        [],
    ],
)
def test_is_in_answers_as_pandas_isin_with_the_index_kept(candidates) -> None:
    expected = EMAILS.isin(list(candidates))

    found = is_in(EMAILS, candidates)

    pd.testing.assert_series_equal(found, expected)


def test_is_in_matches_no_null() -> None:
    with_null = pd.Series(["ana@acme.com", None], dtype="str")

    assert is_in(EMAILS, with_null).tolist() == [True, False, False, True, False]


def test_map_distinct_keeps_text_arrow_cannot_hold_as_objects() -> None:
    raw = pd.Series(["ok", "lone \ud800", None, "ok"], dtype=object)

    mapped = map_distinct(raw, str.upper)

    assert mapped.dtype == object
    assert mapped.tolist() == ["OK", "LONE \ud800", None, "OK"]
