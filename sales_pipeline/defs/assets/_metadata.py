"""Metadata every materialization records: counts per outcome, API figures, masked samples."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd
from dagster import MetadataValue

from sales_pipeline.clients import VendorClient
from sales_pipeline.transforms.masking import masked_sample

SAMPLE_ROWS = 5


def api_metadata(*clients: VendorClient) -> dict[str, MetadataValue]:
    """Per vendor: requests, retries, 429s, 5xx, latency percentiles and credits, as JSON, plus
    the headline numbers as top-level entries so they chart in the UI."""
    metadata: dict[str, MetadataValue] = {}
    for client in clients:
        snapshot = client.metrics_snapshot()
        vendor = client.vendor
        metadata[f"{vendor}_api"] = MetadataValue.json(dict(snapshot))
        metadata[f"{vendor}_requests"] = MetadataValue.int(int(snapshot["requests"]))
        metadata[f"{vendor}_retries"] = MetadataValue.int(int(snapshot["retries"]))
        metadata[f"{vendor}_429s"] = MetadataValue.int(int(snapshot["rate_limited_429"]))
    return metadata


def counts_metadata(counts: Mapping[Any, int]) -> dict[str, MetadataValue]:
    """Row counts per outcome, one entry each."""
    return {str(name): MetadataValue.int(int(value)) for name, value in counts.items()}


def sample_metadata(frame: pd.DataFrame) -> dict[str, MetadataValue]:
    """A few rows with every personal field masked: no raw PII reaches the event log."""
    if frame.empty:
        return {"sample": MetadataValue.md("(no rows)")}
    sample = masked_sample(frame, SAMPLE_ROWS).astype(str)
    return {"sample": MetadataValue.md(sample.to_markdown(index=False))}
