"""Run-failure alerts."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import requests
from dagster import (
    DagsterEvent,
    DefaultSensorStatus,
    RunFailureSensorContext,
    SensorDefinition,
    run_failure_sensor,
)
from dagster_shared.error import SerializableErrorInfo

from sales_pipeline.clients import redact
from sales_pipeline.defs.descriptions import described
from sales_pipeline.defs.resources import PipelineStoreResource
from sales_pipeline.settings import load_settings
from sales_pipeline.store.run_failures import RunFailureLog

PARTITION_TAG = "dagster/partition"
RANGE_TAGS = ("dagster/asset_partition_range_start", "dagster/asset_partition_range_end")
"""How a run names its partition: one key (schedule, sensor, launchpad) or a range (an asset
backfill, whose policy here makes each run's range a single day)."""


FAILURE_WEBHOOK_ENV = "SALES_PIPELINE_FAILURE_WEBHOOK_URL"

FAILURE_MESSAGE_MAX = 300
"""Characters of an error message sent to the failure webhook."""


# Run failures ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunFailure:
    """What the failure alert says about a failed run: no secret, no personal data."""

    job: str
    run_id: str
    partition: str | None
    step: str | None
    error_class: str
    message: str

    def payload(self) -> dict[str, str | None]:
        """The webhook's JSON body."""
        return {"event": "run_failure", **vars(self)}


def _wrapper(error: SerializableErrorInfo) -> bool:
    """Whether ``error`` wraps the one the code raised: Dagster's own step errors, and the
    :class:`dagster.Failure` that :mod:`sales_pipeline.defs.failures` raises from it."""
    name = error.cls_name or ""
    return error.cause is not None and (name.startswith("Dagster") or name == "Failure")


def _user_error(error: SerializableErrorInfo) -> tuple[str, str]:
    """The class and message of the error the code raised, under Dagster's wrappers."""
    while error.cause is not None and _wrapper(error):
        error = error.cause
    error_class = error.cls_name or "Error"
    _, _, message = error.message.partition(f"{error_class}: ")
    return error_class, message or error.message


def one_line(message: str) -> str:
    """The first non-blank line of ``message``, redacted and cut to
    :data:`FAILURE_MESSAGE_MAX` characters."""
    line = next((text.strip() for text in message.splitlines() if text.strip()), "")
    return redact(line)[:FAILURE_MESSAGE_MAX]


def run_partition(tags: Mapping[str, str]) -> str | None:
    """The partition a run worked on, from its tags: ``day``, ``first...last`` or None."""
    start, end = (tags.get(tag) for tag in RANGE_TAGS)
    if PARTITION_TAG in tags or not (start and end):
        return tags.get(PARTITION_TAG)
    return start if start == end else f"{start}...{end}"


def describe_failure(
    job: str,
    run_id: str,
    tags: Mapping[str, str],
    failure_event: DagsterEvent,
    step_failures: Sequence[DagsterEvent],
) -> RunFailure:
    """The :class:`RunFailure` of a run, from its failure event and step failure events: the
    first failed step's error, else the run's own error or failure reason."""
    step = step_failures[0] if step_failures else None
    run_data = failure_event.job_failure_data
    if step is not None:
        error = step.step_failure_data.error
        fallback = "StepFailure"
    else:
        error = run_data.error if run_data else None
        reason = run_data.failure_reason if run_data else None
        fallback = reason.value if reason else "RunFailure"
    if error is not None:
        error_class, message = _user_error(error)
    else:
        error_class, message = fallback, (step or failure_event).message or ""
    return RunFailure(
        job,
        run_id,
        run_partition(tags),
        step.step_key if step else None,
        error_class,
        one_line(message),
    )


def post_failure(url: str, failure: RunFailure) -> str:
    """POST the failure to the webhook; ``"delivered"`` or why not (never the URL, which
    often embeds a token)."""
    try:
        requests.post(url, json=failure.payload(), timeout=10).raise_for_status()
    except requests.RequestException as error:
        status = getattr(error.response, "status_code", None)
        return f"failed: {type(error).__name__}" + (f" {status}" if status else "")
    return "delivered"


@described(
    run_failure_sensor,
    SensorDefinition,
    name="run_failure_alert",
    default_status=DefaultSensorStatus.RUNNING,
)
def run_failure_alert(context: RunFailureSensorContext, store: PipelineStoreResource) -> None:
    """Records every failed run of this code location with its error class, and posts a
    redacted one-line summary (job, run id, partition, step, error class, message) to
    SALES_PIPELINE_FAILURE_WEBHOOK_URL when it is set. The record is kept in the store under
    run_failure:<run id>."""
    run = context.dagster_run
    failure = describe_failure(
        run.job_name,
        run.run_id,
        run.tags,
        context.failure_event,
        context.get_step_failure_events(),
    )
    url = load_settings().failure_webhook_url
    webhook = post_failure(url.get_secret_value(), failure) if url else "not configured"
    context.log.error(
        f"run {failure.run_id} of {failure.job} failed at {failure.step or 'run level'}: "
        f"{failure.error_class}: {failure.message} (webhook {webhook})"
    )
    RunFailureLog(store.get_store()).record(
        failure.run_id, {**failure.payload(), "webhook": webhook}
    )
