"""Asset checks: the stage contracts (blocking) and the rates a person should hear about.

Schema checks are blocking: a partition whose output breaks its contract stops the run before
any downstream step, so nothing is ever pushed to Lemlist from a failed schema check. The
thresholds are configuration (``SALES_PIPELINE_MAX_QUARANTINE_RATE``,
``SALES_PIPELINE_MAX_PUSH_FAILURE_RATE``; fractions, default 0.10).
"""

import pandas as pd
import pandera.errors
import pandera.pandas as pa
from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetChecksDefinition,
    AssetCheckSeverity,
    MetadataValue,
    asset_check,
)

from sales_pipeline.defs.assets.contacts import QUARANTINE_SOURCE, hubspot_contacts
from sales_pipeline.defs.assets.enrichment import enriched_contacts
from sales_pipeline.defs.assets.outreach import lemlist_leads
from sales_pipeline.defs.assets.qualification import qualified_leads
from sales_pipeline.defs.assets.writeback import hubspot_enrichment_writeback
from sales_pipeline.defs.io_manager import peak_rss_mib
from sales_pipeline.defs.partitions import daily_partitions
from sales_pipeline.defs.resources import PipelineStoreResource
from sales_pipeline.domain.outcomes import PushOutcome
from sales_pipeline.settings import load_settings
from sales_pipeline.transforms.schemas import (
    ContractViolation,
    EnrichedContacts,
    NormalizedContacts,
    QualifiedLeads,
    failure_summary,
)


def _resources() -> dict[str, float]:
    """What every check records besides its verdict: the check process's peak resident memory
    so far (``peak_rss_mib``, as the IO manager records it for assets). A check loads its
    asset's whole frame in a process of its own, so it can be the heaviest step of a run."""
    return {"peak_rss_mib": round(peak_rss_mib(), 1)}


def _schema_result(frame: pd.DataFrame, model: type[pa.DataFrameModel]) -> AssetCheckResult:
    """The check's result; on failure, the failing columns and checks with counts and masked
    examples (pandera's own error text quotes the failing values, which can be personal)."""
    try:
        model.validate(frame, lazy=True)
    except (pandera.errors.SchemaError, pandera.errors.SchemaErrors) as broken:
        failures = failure_summary(broken)
        table = pd.DataFrame(failures, columns=["column", "check", "count", "examples"])
        return AssetCheckResult(
            passed=False,
            description=str(ContractViolation(model.__name__, failures)),
            metadata={
                "failure_cases": int(table["count"].sum()),
                "failures": MetadataValue.md(table.astype(str).to_markdown(index=False)),
                **_resources(),
            },
        )
    return AssetCheckResult(passed=True, metadata={"rows": len(frame), **_resources()})


@asset_check(asset=hubspot_contacts, blocking=True, partitions_def=daily_partitions)
def hubspot_contacts_schema(hubspot_contacts: pd.DataFrame) -> AssetCheckResult:
    """The stored contacts satisfy ``NormalizedContacts``."""
    return _schema_result(hubspot_contacts, NormalizedContacts)


@asset_check(asset=enriched_contacts, blocking=True, partitions_def=daily_partitions)
def enriched_contacts_schema(enriched_contacts: pd.DataFrame) -> AssetCheckResult:
    """The stored enrichment satisfies ``EnrichedContacts``."""
    return _schema_result(enriched_contacts, EnrichedContacts)


@asset_check(asset=qualified_leads, blocking=True, partitions_def=daily_partitions)
def qualified_leads_schema(qualified_leads: pd.DataFrame) -> AssetCheckResult:
    """The stored leads satisfy ``QualifiedLeads``: nothing is pushed otherwise."""
    return _schema_result(qualified_leads, QualifiedLeads)


@asset_check(asset=hubspot_contacts, partitions_def=daily_partitions)
def hubspot_contacts_quarantine_rate(
    context: AssetCheckExecutionContext,
    hubspot_contacts: pd.DataFrame,
    store: PipelineStoreResource,
) -> AssetCheckResult:
    """The share of the day's HubSpot records quarantined stays under the threshold."""
    partition = context.partition_key
    quarantined = store.get_store().count_quarantined(partition, QUARANTINE_SOURCE)
    total = quarantined + len(hubspot_contacts)
    rate = quarantined / total if total else 0.0
    limit = load_settings().max_quarantine_rate
    return AssetCheckResult(
        passed=rate <= limit,
        severity=AssetCheckSeverity.WARN,
        metadata={
            "quarantined": quarantined,
            "rate": round(rate, 4),
            "threshold": limit,
            **_resources(),
        },
    )


@asset_check(asset=enriched_contacts, partitions_def=daily_partitions)
def enriched_contacts_complete(enriched_contacts: pd.DataFrame) -> AssetCheckResult:
    """No contact was left `deferred` because Explorium could not serve."""
    deferred = int((enriched_contacts["enrichment_status"] == "deferred").sum())
    return AssetCheckResult(
        passed=deferred == 0,
        severity=AssetCheckSeverity.WARN,
        metadata={"deferred": deferred, **_resources()},
    )


@asset_check(asset=lemlist_leads, partitions_def=daily_partitions)
def lemlist_push_failure_rate(lemlist_leads: pd.DataFrame) -> AssetCheckResult:
    """Rejected and deferred pushes stay under the threshold."""
    attempted = lemlist_leads[~lemlist_leads["result"].str.startswith("skipped")]
    failed = attempted["result"].isin([PushOutcome.REJECTED.value, PushOutcome.DEFERRED.value])
    rate = float(failed.mean()) if len(attempted) else 0.0
    limit = load_settings().max_push_failure_rate
    return AssetCheckResult(
        passed=rate <= limit,
        severity=AssetCheckSeverity.ERROR,
        metadata={
            "failed": int(failed.sum()),
            "rate": round(rate, 4),
            "threshold": limit,
            **_resources(),
        },
    )


@asset_check(asset=hubspot_enrichment_writeback, partitions_def=daily_partitions)
def hubspot_writeback_failure_rate(hubspot_enrichment_writeback: pd.DataFrame) -> AssetCheckResult:
    """Contacts HubSpot rejected, or that were deferred to a later run, stay under the push
    failure threshold (`SALES_PIPELINE_MAX_PUSH_FAILURE_RATE`) among the contacts written."""
    outcomes = hubspot_enrichment_writeback["outcome"]
    rejected, deferred = int((outcomes == "rejected").sum()), int((outcomes == "deferred").sum())
    rate = (rejected + deferred) / len(outcomes) if len(outcomes) else 0.0
    limit = load_settings().max_push_failure_rate
    return AssetCheckResult(
        passed=rate <= limit,
        severity=AssetCheckSeverity.WARN,
        metadata={
            "rejected": rejected,
            "deferred": deferred,
            "rate": round(rate, 4),
            "threshold": limit,
            **_resources(),
        },
    )


ASSET_CHECKS: list[AssetChecksDefinition] = [
    hubspot_contacts_schema,
    enriched_contacts_schema,
    qualified_leads_schema,
    hubspot_contacts_quarantine_rate,
    enriched_contacts_complete,
    lemlist_push_failure_rate,
    hubspot_writeback_failure_rate,
]
