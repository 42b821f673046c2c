"""Asset checks record how much memory their process took: a check loads its asset's whole
frame in a process of its own, so at a big partition it can be the run's heaviest step."""

import pandas as pd
import pytest
from dagster import AssetCheckResult, FloatMetadataValue

from sales_pipeline.defs.checks import enriched_contacts_complete, hubspot_contacts_schema
from sales_pipeline_tests.test_schemas import enriched, frame, normalized


def _peak_rss_mib(result: AssetCheckResult) -> float:
    recorded = result.metadata["peak_rss_mib"]
    assert isinstance(recorded, FloatMetadataValue)
    assert recorded.value is not None
    return recorded.value


@pytest.mark.parametrize(
    ("contacts", "passed"),
    [
        (frame(normalized()), True),
        (frame(normalized(), normalized(hubspot_id="102")), False),
    ],
    ids=["valid", "duplicate email"],
)
def test_schema_check_records_its_peak_memory_whether_it_passes_or_not(
    contacts: pd.DataFrame, passed: bool
) -> None:
    result = hubspot_contacts_schema(contacts)
    assert isinstance(result, AssetCheckResult)
    assert result.passed is passed
    assert _peak_rss_mib(result) > 0


def test_rate_check_records_its_peak_memory() -> None:
    result = enriched_contacts_complete(frame(enriched()))
    assert isinstance(result, AssetCheckResult)
    assert result.passed
    assert _peak_rss_mib(result) > 0
