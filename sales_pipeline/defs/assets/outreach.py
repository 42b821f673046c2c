"""Qualified leads pushed into Lemlist campaigns, exactly once."""

from collections import Counter

import pandas as pd
from dagster import AssetExecutionContext, DagsterRunStatus, Output, RunsFilter

from sales_pipeline.clients import AuthError
from sales_pipeline.defs.assets._metadata import api_metadata, counts_metadata
from sales_pipeline.defs.assets._stage import daily_stage
from sales_pipeline.defs.resources import LemlistResource, PipelineStoreResource
from sales_pipeline.flows.push import Pusher, prepare_pushes
from sales_pipeline.flows.write_back import write_back_owed_pushes
from sales_pipeline.store.engine import utc_now

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
    crashes and re-runs, plus every push an earlier run still owed.

    A push ledger in the store records the intent (a claim, leased while this step works)
    before sending and the outcome after: added, already present, rejected with its reason,
    deferred (retried with backoff by any later run, whatever its partition) or given up. A
    claim whose run died is taken over once its lease lapses. Custom variables carry the
    enrichment (segment, score, level, department, company size, industry, country) as
    strings. A lead unsubscribed since qualification is skipped; one whose payload cannot be
    built or sent is rejected with the reason while the others go on.
    """
    pipeline_store = store.get_store()
    ledger = store.get_ledger()
    pushes, unprepared = prepare_pushes(qualified_leads[~qualified_leads["excluded"]])
    claimed_by = {push.run_id for push in ledger.pending_pushes()}
    with lemlist.get_client() as client:
        pusher = Pusher(
            client,
            pipeline_store,
            ledger,
            context.run.run_id,
            clock=utc_now,
            dead_run_ids=_dead_run_ids(context, claimed_by),
        )
        report = pusher.run(pushes)
        api = api_metadata(client)
    results = [*unprepared, *report.results]
    write_back_owed_pushes(store.get_backlog(), ledger, results, context.partition_key, utc_now())
    if isinstance(report.stopped_by, AuthError):
        raise report.stopped_by
    frame = pd.DataFrame(
        [vars(result) for result in results],
        columns=["email", "campaign_id", "result", "reason", "owed"],
    )
    counts = {
        "leads": len(frame),
        "owed_work": int(frame["owed"].sum()),
        **Counter(frame["result"]),
    }
    return Output(frame, metadata={**counts_metadata(counts), **api})
