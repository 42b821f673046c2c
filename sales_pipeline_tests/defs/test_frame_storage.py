"""How the IO manager stores frames: exactly what was saved comes back, and a text value that
repeats down a column is held once."""

from __future__ import annotations

import pandas as pd
from pandas.testing import assert_frame_equal

from sales_pipeline.defs.io_manager import decode_frame, encode_frame


def mixed_frame(rows: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "email": [f"person{i}@example.com" for i in range(rows)],
            "country": pd.Series(
                ["Germany", None, "United States"] * (rows // 3) + ["France"] * (rows % 3),
                dtype="str",
            ),
            "opted_out": [i % 2 == 0 for i in range(rows)],
            "modified_at": pd.date_range("2026-01-01", periods=rows, freq="s", tz="UTC"),
            "score": [i / rows for i in range(rows)],
            "tags": [["a", "b"] if i % 5 else [] for i in range(rows)],
        },
        index=pd.RangeIndex(10, 10 + rows),
    )


def test_a_stored_frame_comes_back_with_its_values_dtypes_and_index():
    frame = mixed_frame(50_000)

    assert_frame_equal(decode_frame(encode_frame(frame)), frame)


def test_an_empty_frame_comes_back_with_its_columns():
    frame = mixed_frame(0)

    assert_frame_equal(decode_frame(encode_frame(frame)), frame)


def test_a_text_value_repeating_down_a_column_is_held_once_after_loading():
    frame = mixed_frame(3_000)

    loaded = decode_frame(encode_frame(frame))

    germany = {id(value) for value in loaded["country"] if value == "Germany"}
    assert len(germany) == 1
    assert loaded["email"].nunique() == 3_000
