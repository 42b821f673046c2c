"""The pipeline's outstanding work, made visible and drained when nothing else runs.

* `pipeline_backlog` (asset) counts what the store says is owed or given up, by stage, state,
  reason and age; its check warns when the backlog grows or ages past a threshold, or holds
  given-up work a person should look at.
* `outstanding_work_sensor` requests a run of `lead_pipeline` for the current day when work
  is due and no run of the pipeline is under way (any run drains what is due, whatever its
  partition), and refreshes `pipeline_backlog` whenever the counts change.
"""

import hashlib
import json
from datetime import datetime
from typing import Any

import pandas as pd
from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetExecutionContext,
    DagsterRunStatus,
    DefaultSensorStatus,
    MetadataValue,
    Output,
    RunRequest,
    RunsFilter,
    SensorDefinition,
    SensorEvaluationContext,
    SensorResult,
    asset,
    asset_check,
    define_asset_job,
    sensor,
)

from sales_pipeline.defs.descriptions import described
from sales_pipeline.defs.jobs import pipeline_job
from sales_pipeline.defs.partitions import daily_partitions
from sales_pipeline.defs.resources import PipelineStoreResource
from sales_pipeline.settings import load_settings
from sales_pipeline.store.backlog import SUMMARY_COLUMNS, Stage, WorkState, outstanding_summary
from sales_pipeline.store.engine import utc_now

_ACTIVE = [
    DagsterRunStatus.QUEUED,
    DagsterRunStatus.NOT_STARTED,
    DagsterRunStatus.STARTING,
    DagsterRunStatus.STARTED,
]
DRAIN_BUCKET_MINUTES = 30
"""At most one drain run per half hour: a failed drain is tried again in the next one."""


def backlog_frame(store: PipelineStoreResource, now: datetime) -> pd.DataFrame:
    """The outstanding work of every stage, counted by state, reason and age in days."""
    rows = outstanding_summary(store.get_ledger(), store.get_backlog(), now)
    return pd.DataFrame(rows, columns=list(SUMMARY_COLUMNS))


def _total(frame: pd.DataFrame, given_up: bool) -> int:
    chosen = frame["state"].eq(WorkState.GIVEN_UP.value)
    return int(frame.loc[chosen if given_up else ~chosen, "count"].sum())


@asset(group_name="operations", kinds={"pandas"})
def pipeline_backlog(
    context: AssetExecutionContext, store: PipelineStoreResource
) -> Output[pd.DataFrame]:
    """The work the pipeline still owes, by stage, state, reason and age.

    Pushes deferred or claimed by a run that died, contacts whose enrichment was deferred,
    and HubSpot writebacks that failed for a transient reason are kept in the store with the
    time of their next attempt; any run of `lead_pipeline` drains what is due, whatever its
    day. Work tried too often or for too long is given up with its reason and stays listed
    here: retry or dismiss it with `sales-pipeline backlog`.
    """
    frame = backlog_frame(store, utc_now())
    owed = frame[frame["state"] != WorkState.GIVEN_UP.value]
    by_stage = owed.groupby("stage")["count"].sum()
    metadata: dict[str, Any] = {
        "owed": MetadataValue.int(_total(frame, given_up=False)),
        "given_up": MetadataValue.int(_total(frame, given_up=True)),
        "oldest_owed_days": MetadataValue.int(int(owed["age_days"].max()) if len(owed) else 0),
        **{
            f"owed_{stage}": MetadataValue.int(int(by_stage.get(stage, 0)))
            for stage in ("push", *(s.value for s in Stage))
        },
        "backlog": MetadataValue.md(
            frame.to_markdown(index=False) if len(frame) else "(nothing owed)"
        ),
    }
    context.log.info(f"{metadata['owed'].value} items owed, {metadata['given_up'].value} given up")
    return Output(frame, metadata=metadata)


@asset_check(asset=pipeline_backlog)
def pipeline_backlog_is_healthy(pipeline_backlog: pd.DataFrame) -> AssetCheckResult:
    """Warns when the owed work exceeds `SALES_PIPELINE_MAX_BACKLOG` items, when the oldest
    is older than `SALES_PIPELINE_MAX_BACKLOG_AGE_DAYS`, or when work was given up."""
    settings = load_settings()
    owed_frame = pipeline_backlog[pipeline_backlog["state"] != WorkState.GIVEN_UP.value]
    owed = _total(pipeline_backlog, given_up=False)
    given_up = _total(pipeline_backlog, given_up=True)
    oldest = int(owed_frame["age_days"].max()) if len(owed_frame) else 0
    problems = []
    if owed > settings.max_backlog:
        problems.append(f"{owed} items owed (limit {settings.max_backlog})")
    if oldest > settings.max_backlog_age_days:
        limit = settings.max_backlog_age_days
        problems.append(f"oldest owed item {oldest} days old (limit {limit})")
    if given_up:
        problems.append(f"{given_up} items given up: see `sales-pipeline backlog`")
    return AssetCheckResult(
        passed=not problems,
        severity=AssetCheckSeverity.WARN,
        description="; ".join(problems) or "backlog within limits",
        metadata={"owed": owed, "given_up": given_up, "oldest_owed_days": oldest},
    )


backlog_job = define_asset_job(
    "backlog_report",
    selection=[pipeline_backlog.key],
    description="Counts the outstanding work (requested by the outstanding-work sensor).",
)


def _work_is_due(store: PipelineStoreResource, now: datetime) -> bool:
    if store.get_ledger().due_pushes(now, limit=1):
        return True
    backlog = store.get_backlog()
    return any(backlog.due(stage, now, limit=1) for stage in Stage)


@described(
    sensor,
    SensorDefinition,
    jobs=[pipeline_job, backlog_job],
    minimum_interval_seconds=300,
    default_status=DefaultSensorStatus.STOPPED,
)
def outstanding_work_sensor(
    context: SensorEvaluationContext, store: PipelineStoreResource
) -> SensorResult:
    """Drains owed work when nothing else runs, and keeps `pipeline_backlog` current.

    When pushes, enrichments or writebacks are due and no run of `lead_pipeline` is queued or
    under way, it requests one for the current day (at most one per half hour); whenever the
    backlog's counts change, it refreshes `pipeline_backlog`. Cheap: a few indexed queries.
    """
    now = utc_now()
    frame = backlog_frame(store, now)
    digest = hashlib.sha256(
        json.dumps(frame.drop(columns="age_days").to_dict("records"), sort_keys=True).encode()
    ).hexdigest()[:16]
    requests: list[RunRequest] = []
    if digest != context.cursor:
        requests.append(RunRequest(job_name=backlog_job.name, run_key=f"backlog:{digest}"))
    active = context.instance.get_runs(
        filters=RunsFilter(job_name=pipeline_job.name, statuses=_ACTIVE), limit=1
    )
    if not active and _work_is_due(store, now):
        bucket = now.replace(minute=now.minute - now.minute % DRAIN_BUCKET_MINUTES, second=0)
        day = daily_partitions.get_last_partition_key()
        requests.append(
            RunRequest(
                job_name=pipeline_job.name,
                partition_key=day,
                run_key=f"drain:{bucket:%Y-%m-%dT%H:%M}",
                tags={"sales_pipeline/reason": "outstanding work is due"},
            )
        )
    return SensorResult(run_requests=requests, cursor=digest)
