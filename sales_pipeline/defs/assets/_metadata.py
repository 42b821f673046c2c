"""Metadata every materialization records, laid out for a person reading the asset's page.

- Counts per outcome list *every* outcome of the domain's enums, 0 included, so "0 rejected"
  differs from "not measured" and the plots have no gaps.
- Figures are rounded to 2 decimals.
- Each vendor's requests, retries, 429s and credits are top-level numbers (so they chart), and
  one line per vendor goes to the run's event log as well.
- ``dagster/row_count`` and ``dagster/column_schema`` come from the frame and the stage's pandera
  model, so the catalog shows the columns with their types and constraints.
- Tables are Markdown; personal fields are masked (no raw PII in the event log), and a sample
  shows the stage's own columns first.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from enum import StrEnum
from typing import Any

import pandas as pd
import pandera.pandas as pa
from dagster import (
    DagsterLogManager,
    MetadataValue,
    TableColumn,
    TableColumnConstraints,
    TableSchema,
)

from sales_pipeline.clients import VendorClient
from sales_pipeline.transforms.masking import masked_sample

SAMPLE_ROWS = 5
DECIMALS = 2

VENDOR_FIGURES = {
    "requests": "requests",
    "retries": "retries",
    "429s": "rate_limited_429",
    "credits": "credits_used",
    "deprecation_notices": "deprecation_notices",
}
"""Metadata key suffix -> the client's ``metrics_snapshot()`` field, per vendor."""


def rounded(value: float) -> MetadataValue:
    """A float metadata entry rounded to :data:`DECIMALS`."""
    return MetadataValue.float(round(float(value), DECIMALS))


def api_metadata(log: DagsterLogManager, *clients: VendorClient) -> dict[str, MetadataValue]:
    """Per vendor: ``<vendor>_requests``, ``_retries``, ``_429s``, ``_credits`` and
    ``_deprecation_notices`` (endpoints the vendor said are deprecated) as numbers,
    and every counter and latency percentile as ``<vendor>_api`` (JSON). Logs one summary line
    per vendor to the run's event log (``log``), where it is a structured event of the step."""
    metadata: dict[str, MetadataValue] = {}
    for client in clients:
        snapshot = client.metrics_snapshot()
        vendor = client.vendor
        figures = {suffix: snapshot[field] for suffix, field in VENDOR_FIGURES.items()}
        metadata[f"{vendor}_requests"] = MetadataValue.int(int(figures["requests"]))
        metadata[f"{vendor}_retries"] = MetadataValue.int(int(figures["retries"]))
        metadata[f"{vendor}_429s"] = MetadataValue.int(int(figures["429s"]))
        metadata[f"{vendor}_credits"] = rounded(float(figures["credits"]))
        metadata[f"{vendor}_deprecation_notices"] = MetadataValue.int(
            int(figures["deprecation_notices"])
        )
        metadata[f"{vendor}_api"] = MetadataValue.json(
            {k: round(v, DECIMALS) if isinstance(v, float) else v for k, v in snapshot.items()}
        )
        if figures["deprecation_notices"]:
            log.warning(f"{vendor} deprecates {snapshot['deprecated_endpoints']}: see doctor")
        log.info(
            f"{vendor}: {figures['requests']} requests, {figures['retries']} retries, "
            f"{figures['429s']} 429s, {snapshot['failed_calls']} failed calls, "
            f"{float(figures['credits']):.2f} credits, p95 {snapshot['latency_ms_p95']} ms"
        )
    return metadata


def counts_metadata(
    counts: Mapping[Any, int], outcomes: Iterable[type[StrEnum]] = ()
) -> dict[str, MetadataValue]:
    """``counts`` as integer entries, with every member of the ``outcomes`` enums present (0
    when it did not occur)."""
    every: dict[Hashable, int] = {member.value: 0 for enum in outcomes for member in enum}
    merged = {**every, **counts}
    return {str(name): MetadataValue.int(int(value)) for name, value in merged.items()}


def _column(name: str, column: pa.Column) -> TableColumn:
    checks = [str(check.error or check.name) for check in column.checks]
    return TableColumn(
        name=name,
        type=str(column.dtype),
        description=column.description,
        constraints=TableColumnConstraints(
            nullable=bool(column.nullable), unique=bool(column.unique), other=checks
        ),
    )


def column_schema(model: type[pa.DataFrameModel]) -> TableSchema:
    """The Dagster table schema of a pandera model: names, dtypes, nullability, checks."""
    columns = model.to_schema().columns
    return TableSchema(columns=[_column(name, column) for name, column in columns.items()])


def frame_schema(frame: pd.DataFrame) -> TableSchema:
    """The Dagster table schema of a frame without a pandera model: names and dtypes."""
    return TableSchema(
        columns=[
            TableColumn(name=str(name), type=str(dtype)) for name, dtype in frame.dtypes.items()
        ]
    )


def table_metadata(
    frame: pd.DataFrame, model: type[pa.DataFrameModel] | None = None
) -> dict[str, MetadataValue]:
    """``dagster/row_count`` and ``dagster/column_schema`` (the model's when there is one)."""
    schema = column_schema(model) if model is not None else frame_schema(frame)
    return {
        "dagster/row_count": MetadataValue.int(len(frame)),
        "dagster/column_schema": MetadataValue.table_schema(schema),
    }


def own_columns(
    model: type[pa.DataFrameModel], upstream: type[pa.DataFrameModel] | None = None
) -> list[str]:
    """The columns ``model`` adds to ``upstream`` (all of them without one), in model order."""
    inherited = set(upstream.to_schema().columns) if upstream is not None else set()
    return [name for name in model.to_schema().columns if name not in inherited]


def markdown_table(frame: pd.DataFrame, empty: str = "(no rows)") -> MetadataValue:
    """``frame`` as a Markdown table (no index), or ``empty`` when it has no row."""
    if frame.empty:
        return MetadataValue.md(empty)
    return MetadataValue.md(frame.astype(str).to_markdown(index=False))


def sample_metadata(frame: pd.DataFrame, first: Sequence[str] = ()) -> dict[str, MetadataValue]:
    """A few rows with every personal field masked, ``email`` and then the ``first`` columns
    (the stage's own) leading, so what the stage added is on screen."""
    leading = [c for c in dict.fromkeys(["email", *first]) if c in frame.columns]
    ordered = frame[[*leading, *(c for c in frame.columns if c not in leading)]]
    return {"sample": markdown_table(masked_sample(ordered, SAMPLE_ROWS))}


def breakdown_table(
    frame: pd.DataFrame, by: str, outcome: str, columns: Sequence[str]
) -> MetadataValue:
    """A Markdown table counting ``frame``'s ``outcome`` values: one row per ``by`` value, one
    column per value in ``columns`` (0 when absent), and the row's total."""
    counts = pd.crosstab(frame[by], frame[outcome]).reindex(columns=list(columns), fill_value=0)
    counts["total"] = counts.sum(axis=1)
    return markdown_table(counts.reset_index(), empty=f"(no {by})")
