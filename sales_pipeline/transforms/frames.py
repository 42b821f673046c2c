"""Frame helpers every stage shares."""

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd


def map_distinct(values: pd.Series, function: Callable[[Any], Any]) -> pd.Series:
    """``values.map(function, na_action="ignore")`` (object dtype, ``None`` where ``values``
    is null) calling ``function`` once per distinct value: the text policy walks every
    character in Python, and names, companies, titles and countries repeat a great deal down
    a day's contacts, so each distinct one is cleaned once; equal results are one object."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    results = np.empty(len(uniques) + 1, dtype=object)
    results[: len(uniques)] = [function(value) for value in uniques]
    results[len(uniques)] = None
    return pd.Series(results[codes], index=values.index, dtype=object)


def shared_text(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with each text column's equal values made one object (same values, dtypes
    and index): a column of a million cells holding a few thousand distinct values then holds
    a few thousand strings, not a million."""
    shared: dict[str, pd.Series] = {}
    for name in [str(name) for name, dtype in frame.dtypes.items() if dtype == "str"]:
        codes, uniques = pd.factorize(frame[name], use_na_sentinel=True)
        if len(uniques) < len(codes):
            shared[name] = pd.Series(
                uniques.take(codes, allow_fill=True), index=frame.index, dtype=frame[name].dtype
            )
    return frame.assign(**shared) if shared else frame
