"""Qualified leads pushed into Lemlist campaigns, exactly once."""

from collections import Counter

import pandas as pd
from dagster import AssetExecutionContext, DagsterRunStatus, Output, RunsFilter

from sales_pipeline.defs.assets._metadata import api_metadata, counts_metadata
from sales_pipeline.defs.assets._stage import daily_stage
from sales_pipeline.defs.resources import LemlistResource, PipelineStoreResource
from sales_pipeline.flows.push import push_leads

_LIVE_RUN_STATUSES = {
    DagsterRunStatus.QUEUED,
    DagsterRunStatus.NOT_STARTED,
    DagsterRunStatus.STARTING,
    DagsterRunStatus.STARTED,
    DagsterRunStatus.CANCELING,
}


def _dead_run_ids(context: AssetExecutionContext, run_ids: set[str]) -> set[str]:
    """Of ``run_ids``, those this Dagster instance knows have ended (their claims are free)."""
    if not run_ids:
        return set()
    records = context.instance.get_runs(filters=RunsFilter(run_ids=list(run_ids)))
    return {run.run_id for run in records if run.status not in _LIVE_RUN_STATUSES}


@daily_stage("lemlist", "outreach")
def lemlist_leads(
    context: AssetExecutionContext,
    qualified_leads: pd.DataFrame,
    lemlist: LemlistResource,
    store: PipelineStoreResource,
) -> Output[pd.DataFrame]:
    """Each qualified lead pushed into its Lemlist campaign exactly once, even across retries,
    crashes and re-runs.

    A push ledger in the store records the intent before sending and the outcome after
    (added, already present, rejected with reason, deferred); a re-run skips what is done and
    finishes what is not, including the unfinished pushes of a run that died. Custom variables
    carry the enrichment (segment, score, level, department, company size, industry, country)
    as strings. A lead unsubscribed since qualification is skipped.
    """
    pipeline_store = store.get_store()
    to_push = qualified_leads[~qualified_leads["excluded"]]
    claimed_by = {push.run_id for push in pipeline_store.pending_pushes()}
    with lemlist.get_client() as client:
        results = push_leads(
            client, pipeline_store, to_push, context.run.run_id, _dead_run_ids(context, claimed_by)
        )
        api = api_metadata(client)
    frame = pd.DataFrame(
        [vars(result) for result in results], columns=["email", "campaign_id", "result", "reason"]
    )
    counts = {"leads": len(frame), **Counter(frame["result"])}
    return Output(frame, metadata={**counts_metadata(counts), **api})
