"""Failures that say what to do, and run retries skipped when retrying cannot help."""

import pytest
from dagster import (
    AssetExecutionContext,
    AssetsDefinition,
    DagsterInstance,
    DagsterRunStatus,
    asset,
    materialize,
)

from sales_pipeline.clients import (
    ApiError,
    AuthError,
    CircuitOpen,
    Conflict,
    InvalidRequest,
    QuotaExhausted,
    ServerError,
)
from sales_pipeline.defs.failures import NO_RUN_RETRY_TAG, explain, explained_failures
from sales_pipeline.defs.resources import MissingSettingError, required

RUN_RETRIES = {"run_retries": {"enabled": True, "max_retries": 2}}
"""The instance's run retries as the shipped `dagster.yaml` sets them (asset failures retried)."""
WILL_RETRY = "dagster/will_retry"
"""The tag Dagster sets on a failed run: whether the daemon will retry it."""


def _failing_asset(error: Exception) -> AssetsDefinition:
    @asset
    def failing(context: AssetExecutionContext) -> None:
        with explained_failures(context):
            raise error

    return failing


def _failed_run(error: Exception) -> tuple[str, dict[str, str]]:
    """Materialize an asset that raises ``error`` inside :func:`explained_failures`; the
    description of the :class:`Failure` it raised, and its run's tags."""
    with DagsterInstance.ephemeral(settings=RUN_RETRIES) as instance:
        result = materialize([_failing_asset(error)], instance=instance, raise_on_error=False)
        run = instance.get_run_by_id(result.run_id)
        assert run is not None
        assert run.status == DagsterRunStatus.FAILURE
        failure = result.failure_data_for_node("failing")
        assert failure is not None
        assert failure.user_failure_data is not None
        assert failure.error is not None
        assert failure.error.cls_name == "Failure"
        return failure.user_failure_data.description or "", dict(run.tags)


def test_a_refused_hubspot_token_names_the_variable_and_skips_run_retries() -> None:
    error = AuthError("401 Unauthorized", vendor="hubspot", operation="search_contacts", status=401)

    description, tags = _failed_run(error)

    assert "HUBSPOT_ACCESS_TOKEN" in description
    assert "`access_token`" in description
    assert "does not help" in description
    assert tags[NO_RUN_RETRY_TAG] == "false"
    assert tags[WILL_RETRY] == "false"


def test_a_vendor_outage_points_at_the_status_page_and_keeps_run_retries() -> None:
    error = ServerError(
        "503 Service Unavailable", vendor="lemlist", operation="add_lead", status=503
    )

    description, tags = _failed_run(error)

    assert "status.lemlist.com" in description
    assert "A retry can help" in description
    assert NO_RUN_RETRY_TAG not in tags
    assert tags[WILL_RETRY] == "true"


def test_a_missing_setting_names_it_and_skips_run_retries() -> None:
    with pytest.raises(MissingSettingError) as missing:
        required(None, "LEMLIST_API_KEY")

    description, tags = _failed_run(missing.value)

    assert "LEMLIST_API_KEY is not set" in description
    assert tags[WILL_RETRY] == "false"


@pytest.mark.parametrize(
    ("error", "retry_helps", "advice"),
    [
        (
            QuotaExhausted("out of credits", vendor="explorium", operation="enrich", status=403),
            False,
            "add credits",
        ),
        (
            CircuitOpen("breaker open", vendor="explorium", operation="match", retry_after=30),
            True,
            "status.explorium.ai",
        ),
        (
            Conflict("locked", vendor="hubspot", operation="upsert", status=423, retryable=True),
            True,
            "status.hubspot.com",
        ),
        (
            InvalidRequest("bad filter", vendor="hubspot", operation="search", status=400),
            False,
            "code or data fix",
        ),
    ],
)
def test_each_error_class_gets_its_advice(error: ApiError, retry_helps: bool, advice: str) -> None:
    explanation = explain(error)

    assert explanation.retry_helps is retry_helps
    assert advice in explanation.description()


def test_other_exceptions_pass_unchanged() -> None:
    with DagsterInstance.ephemeral() as instance:
        result = materialize(
            [_failing_asset(KeyError("column"))], instance=instance, raise_on_error=False
        )
        failure = result.failure_data_for_node("failing")

    assert failure is not None
    assert failure.error is not None
    assert failure.user_failure_data is None
    assert "KeyError: 'column'" in failure.error.to_string()
