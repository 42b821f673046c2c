"""Explorium's match and enrichment answers paired back with their inputs."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sales_pipeline.clients.explorium.models import (
    EnrichResult,
    EnrichStatus,
    MatchResult,
    MatchStatus,
)
from sales_pipeline.clients.redaction import redact


def enrich_result(entity_id: str, data: Any, cost: float | None) -> EnrichResult:
    """FOUND with ``data`` and its ``cost`` when any field came back, else NOT_FOUND."""
    if not isinstance(data, dict) or not any(data.values()):
        return EnrichResult(entity_id, EnrichStatus.NOT_FOUND)
    return EnrichResult(entity_id, EnrichStatus.FOUND, data, cost or 0.0)


def match_results(
    batch: list[tuple[int, dict[str, str]]], rows: list[dict[str, Any]]
) -> list[MatchResult]:
    """Pair answer rows with queries: by position when counts agree, else by echoed input."""
    paired: list[tuple[int, dict[str, Any] | None]]
    if len(rows) == len(batch):
        paired = [(index, row) for (index, _), row in zip(batch, rows, strict=True)]
    else:
        unused = list(rows)
        paired = []
        for index, query in batch:
            row = next((r for r in unused if _echoed(r) == query), None)
            if row is not None:
                unused.remove(row)
            paired.append((index, row))
    return [_match_result(index, row) for index, row in paired]


def _echoed(row: Mapping[str, Any]) -> dict[str, str]:
    echoed = row.get("input") or {}
    return (
        {k: v for k, v in echoed.items() if v not in (None, "")} if isinstance(echoed, dict) else {}
    )


def _match_result(index: int, row: Mapping[str, Any] | None) -> MatchResult:
    if row is None:
        return MatchResult(index, MatchStatus.FAILED, reason="no result returned for this query")
    entity_id = row.get("prospect_id") or row.get("business_id")
    if entity_id:
        return MatchResult(index, MatchStatus.MATCHED, entity_id=str(entity_id))
    if row.get("error"):
        return MatchResult(
            index,
            MatchStatus.FAILED,
            reason=redact(f"{row.get('error_type', 'error')}: {row['error']}"),
        )
    return MatchResult(index, MatchStatus.UNMATCHED)
