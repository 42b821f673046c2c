"""Qualified leads pushed into Lemlist campaigns, exactly once (or, in a dry run, only shown)."""

import json
from collections import Counter
from collections.abc import Iterator, Sequence

import pandas as pd
from dagster import (
    AssetExecutionContext,
    AssetObservation,
    Config,
    DagsterRunStatus,
    MetadataValue,
    Output,
    RunsFilter,
)
from pydantic import Field

from sales_pipeline.clients import AuthError
from sales_pipeline.defs.assets._metadata import (
    api_metadata,
    breakdown_table,
    counts_metadata,
    markdown_table,
    table_metadata,
)
from sales_pipeline.defs.assets._stage import daily_stage
from sales_pipeline.defs.failures import explained_failures
from sales_pipeline.defs.resources import LemlistResource, PipelineStoreResource
from sales_pipeline.domain.outcomes import PushOutcome
from sales_pipeline.flows.push import (
    SKIPPED_SETTLED,
    SKIPPED_SUPPRESSED,
    WOULD_SEND,
    PlannedPush,
    PreparedPushes,
    Pusher,
)
from sales_pipeline.flows.write_back import write_back_owed_pushes
from sales_pipeline.store.engine import utc_now
from sales_pipeline.transforms.masking import masked_sample

_LIVE_RUN_STATUSES = {
    DagsterRunStatus.QUEUED,
    DagsterRunStatus.NOT_STARTED,
    DagsterRunStatus.STARTING,
    DagsterRunStatus.STARTED,
    DagsterRunStatus.CANCELING,
}

PUSH_RESULTS = [*(o.value for o in PushOutcome), SKIPPED_SUPPRESSED, SKIPPED_SETTLED]
"""Every result a lead can get in a run: the ledger's outcomes and the two skips."""

CAMPAIGN_COLUMNS = [
    PushOutcome.ADDED.value,
    PushOutcome.ALREADY_PRESENT.value,
    PushOutcome.REJECTED.value,
    PushOutcome.DEFERRED.value,
    PushOutcome.GIVEN_UP.value,
]
"""Columns of the per-campaign table."""

PLANNED_ROWS = 100
"""Leads listed in a dry run's `plan` table (the counts cover them all)."""

_PAYLOAD_COLUMNS = {
    "firstName": "first_name",
    "lastName": "last_name",
    "companyName": "company_name",
    "jobTitle": "job_title",
    "linkedinUrl": "linkedin_url",
    "companyDomain": "company_domain",
}
"""Lemlist lead field -> column of the dry run's table (so the masks apply by column)."""


class PushConfig(Config):
    """Run config of `lemlist_leads`."""

    dry_run: bool = Field(
        default=False,
        description="Show what would be sent (campaign, lead, variables; masked) and send "
        "nothing: no ledger claim, no Lemlist call, no materialization.",
    )


def _dead_run_ids(context: AssetExecutionContext, run_ids: set[str]) -> set[str]:
    """Of `run_ids`, those this Dagster instance knows have ended (their claims are free)."""
    if not run_ids:
        return set()
    records = context.instance.get_runs(filters=RunsFilter(run_ids=list(run_ids)))
    return {run.run_id for run in records if run.status not in _LIVE_RUN_STATUSES}


def planned_frame(plan: Sequence[PlannedPush]) -> pd.DataFrame:
    """One row per planned push: email, campaign, result, whether it is owed work, the lead's
    fields and its custom variables (as JSON)."""
    rows = []
    for planned in plan:
        lead = dict(planned.push.lead)
        rows.append(
            {
                "email": planned.push.email,
                "campaign_id": planned.push.campaign_id,
                "result": planned.result,
                "owed": planned.push.owed,
                **{column: lead.get(field) for field, column in _PAYLOAD_COLUMNS.items()},
                "variables": json.dumps(lead.get("variables", {}), sort_keys=True),
            }
        )
    columns = ["email", "campaign_id", "result", "owed", *_PAYLOAD_COLUMNS.values(), "variables"]
    return pd.DataFrame(rows, columns=columns)


def _dry_run_metadata(frame: pd.DataFrame, unprepared: int) -> dict[str, MetadataValue]:
    counts = Counter(frame["result"])
    shown = masked_sample(frame.sort_values(["result", "campaign_id"]), PLANNED_ROWS)
    return {
        "dry_run": MetadataValue.bool(True),
        **counts_metadata(
            {
                **{key: counts[key] for key in (WOULD_SEND, SKIPPED_SUPPRESSED, SKIPPED_SETTLED)},
                "would_reject_unpreparable": unprepared,
            }
        ),
        "campaigns": breakdown_table(frame, "campaign_id", "result", [WOULD_SEND]),
        "plan": markdown_table(shown, empty="(nothing to send)"),
    }


@daily_stage("push", "lemlist", output_required=False)
def lemlist_leads(
    context: AssetExecutionContext,
    config: PushConfig,
    qualified_leads: pd.DataFrame,
    lemlist: LemlistResource,
    store: PipelineStoreResource,
) -> Iterator[Output[pd.DataFrame]]:
    """Each qualified lead pushed into its Lemlist campaign exactly once, even across retries,
    crashes and re-runs, plus every push an earlier run still owed.

    A push ledger in the store records the intent (a claim, leased while this step works)
    before sending and the outcome after: added, already present, rejected with its reason,
    deferred (retried with backoff by any later run, whatever its partition) or given up. A
    claim whose run died is taken over once its lease lapses. Custom variables carry the
    enrichment (segment, score, level, department, company size, industry, country) as
    strings. A lead unsubscribed since qualification is skipped; one whose payload cannot be
    built or sent is rejected with the reason while the others go on.

    Metadata: one count per result (`added`, `already_present`, `rejected`, `deferred`,
    `given_up`, `pending`, `skipped_suppressed`, `skipped_settled`; 0 when none), `owed_work`,
    and a `campaigns` table of the outcomes per campaign.

    With run config `dry_run: true` the step sends nothing and records nothing: it logs an
    observation of what it would send (campaign, masked lead, variables) and materializes
    nothing, so the steps after it in the run are skipped.
    """
    pipeline_store = store.get_store()
    ledger = store.get_ledger()
    pushes = PreparedPushes(qualified_leads[~qualified_leads["excluded"]])
    claimed_by = {push.run_id for push in ledger.pending_pushes()}
    with explained_failures(context), lemlist.get_client() as client:
        pusher = Pusher(
            client,
            pipeline_store,
            ledger,
            context.run.run_id,
            clock=utc_now,
            dead_run_ids=_dead_run_ids(context, claimed_by),
        )
        if config.dry_run:
            plan = planned_frame(pusher.plan(list(pushes)))
            metadata = _dry_run_metadata(plan, len(pushes.rejected))
            context.log_event(
                AssetObservation(
                    asset_key=context.asset_key, partition=context.partition_key, metadata=metadata
                )
            )
            context.log.info(f"dry run: {metadata[WOULD_SEND].value} leads would be sent")
            return
        report = pusher.run(pushes)
        api = api_metadata(context.log, client)
        results = [*pushes.rejected, *report.results]
        write_back_owed_pushes(
            store.get_backlog(), ledger, results, context.partition_key, utc_now()
        )
        if isinstance(report.stopped_by, AuthError):
            raise report.stopped_by
    frame = pd.DataFrame(
        [vars(result) for result in results],
        columns=["email", "campaign_id", "result", "reason", "owed"],
    )
    counts = {
        **dict.fromkeys(PUSH_RESULTS, 0),
        "leads": len(frame),
        "owed_work": int(frame["owed"].sum()),
        **Counter(frame["result"]),
    }
    yield Output(
        frame,
        metadata={
            **counts_metadata(counts),
            "campaigns": breakdown_table(frame, "campaign_id", "result", CAMPAIGN_COLUMNS),
            **table_metadata(frame),
            **api,
        },
    )
