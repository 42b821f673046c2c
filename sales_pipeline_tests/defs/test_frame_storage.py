"""How the IO manager stores frames: exactly what was saved comes back, and text comes back as
Arrow strings, about the size of its characters rather than a Python object per cell."""

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


def test_loaded_text_takes_about_its_characters_not_an_object_per_cell():
    """What matters for a step's memory is the size of the frame it loads: each text cell as a
    Python string would cost some 50 bytes of header before its characters; as Arrow strings a
    column is its UTF-8 bytes plus an 8-byte offset and a validity bit per cell."""
    frame = mixed_frame(30_000)

    loaded = decode_frame(encode_frame(frame))

    for name in ("email", "country"):
        column = loaded[name]
        assert column.dtype == pd.StringDtype("pyarrow", na_value=float("nan"))
        characters = int(column.str.len().sum())
        assert column.memory_usage(deep=True, index=False) <= characters + 9 * len(column)
    emails = loaded["email"]
    as_objects = emails.astype(object).memory_usage(deep=True, index=False)
    assert emails.memory_usage(deep=True, index=False) < as_objects / 2
