"""ICP scoring, campaign routing and exclusions."""

from importlib import resources as package_files

import pandas as pd
from dagster import AssetExecutionContext, Config, Output
from pydantic import Field

from sales_pipeline.defs.assets._metadata import (
    api_metadata,
    counts_metadata,
    own_columns,
    sample_metadata,
    table_metadata,
)
from sales_pipeline.defs.assets._stage import daily_stage
from sales_pipeline.defs.failures import explained_failures
from sales_pipeline.defs.resources import LemlistResource, PipelineStoreResource
from sales_pipeline.domain.outcomes import ExclusionReason
from sales_pipeline.flows.suppress import sync_unsubscribes
from sales_pipeline.transforms.qualification import QualificationRules, qualify, with_campaign_ids
from sales_pipeline.transforms.schemas import EnrichedContacts, QualifiedLeads

DEFAULT_RULES = package_files.files("sales_pipeline").joinpath("default_rules.yaml")


class QualificationConfig(Config):
    """Run config of `qualified_leads`: the rules as YAML text or a file path.

    Campaigns may be named by Lemlist id (`cam_...`) or by campaign name.
    """

    rules_yaml: str | None = Field(default=None, description="Rules as YAML text.")
    rules_path: str | None = Field(default=None, description="Path of a rules YAML file.")

    def rules(self) -> QualificationRules:
        """The configured rules, else the packaged `default_rules.yaml`."""
        if self.rules_yaml:
            return QualificationRules.from_yaml(self.rules_yaml)
        if self.rules_path:
            with open(self.rules_path, encoding="utf-8") as rules_file:
                return QualificationRules.from_yaml(rules_file.read())
        return QualificationRules.from_yaml(DEFAULT_RULES.read_text(encoding="utf-8"))


@daily_stage("qualify", "lemlist")
def qualified_leads(
    context: AssetExecutionContext,
    config: QualificationConfig,
    enriched_contacts: pd.DataFrame,
    lemlist: LemlistResource,
    store: PipelineStoreResource,
) -> Output[pd.DataFrame]:
    """Every enriched contact with its ICP score, segment and Lemlist campaign, or the reason
    it is excluded.

    Scoring and routing come from rules in run config (job level, department, company size,
    country, email status, threshold, segment -> campaign). Lemlist's unsubscribes (emails and
    whole domains) are synced into the store first; excluded with the reason recorded are
    HubSpot opt-outs, unsubscribed or bounced emails, invalid emails, leads already pushed, and
    contacts whose enrichment was deferred.

    Metadata: `qualified`, `excluded`, and `excluded_<reason>` for every exclusion reason (0
    when none applied); `new_unsubscribes_synced` from Lemlist.
    """
    pipeline_store = store.get_store()
    with explained_failures(context), lemlist.get_client() as client:
        new_unsubscribes = sync_unsubscribes(client, pipeline_store)
        campaigns = {c.name: c.id for c in client.list_campaigns() if c.name}
        api = api_metadata(context.log, client)
    rules = with_campaign_ids(config.rules(), campaigns)
    leads = qualify(
        enriched_contacts,
        rules,
        pipeline_store.suppression_sources(enriched_contacts["email"]),
        store.get_ledger().pushed_emails(),
    )
    reasons = leads["exclusion_reason"].value_counts()
    counts = {
        "contacts": len(leads),
        "qualified": int((~leads["excluded"]).sum()),
        "excluded": int(leads["excluded"].sum()),
        "new_unsubscribes_synced": new_unsubscribes,
        **{
            f"excluded_{reason.value}": int(reasons.get(reason.value, 0))
            for reason in ExclusionReason
        },
    }
    context.log.info(f"{counts['qualified']} of {len(leads)} contacts qualified")
    return Output(
        leads,
        metadata={
            **counts_metadata(counts),
            **table_metadata(leads, QualifiedLeads),
            **api,
            **sample_metadata(leads, own_columns(QualifiedLeads, EnrichedContacts)),
        },
    )
