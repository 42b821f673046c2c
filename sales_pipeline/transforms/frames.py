"""Frame helpers every stage shares."""

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd


def map_distinct(values: pd.Series, function: Callable[[Any], Any]) -> pd.Series:
    """``values.map(function, na_action="ignore")`` (object dtype, ``None`` where ``values``
    is null) calling ``function`` once per distinct value: the text policy walks every
    character in Python, and names, companies, titles and countries repeat a great deal down
    a day's contacts, so each distinct one is cleaned once; equal results are one object.
    The result stays object, never inferred as pandas' str dtype: raw vendor text may hold
    what an Arrow-backed string refuses (a lone surrogate) until the text policy cleans it."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    results = np.empty(len(uniques) + 1, dtype=object)
    results[: len(uniques)] = [function(value) for value in uniques]
    results[len(uniques)] = None
    return pd.Series(results[codes], index=values.index, dtype=object)
