"""Frame helpers every stage shares."""

import pandas as pd


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
