"""Failures that say what happened and what to do.

The clients raise typed errors (:mod:`sales_pipeline.clients.errors`) and the resources raise
:class:`~sales_pipeline.defs.resources.MissingSettingError`; a step that lets one escape shows
a framework stack trace whose useful line is easy to miss. :func:`explained_failures` turns
them into a :class:`dagster.Failure` whose description reads as advice: what failed, what to
fix (the environment variable or the resource field), where the vendor says whether it is down,
and whether a retry can help.

When retrying cannot help (a refused credential, a missing setting, a spent quota), the step
also sets the run tag ``dagster/retry_on_asset_or_op_failure`` to ``false`` on its own run
before it fails. Dagster 1.13 decides a run retry when the run fails, from that tag or else the
instance's ``run_retries.retry_on_asset_or_op_failure``, so the instance's run retries stay on
for outages and lost workers while these failures are not retried twice for nothing.
``Failure(allow_retries=False)`` only bypasses op retry policies, which is why the tag is needed.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Protocol

from dagster import DagsterInstance, DagsterRun, Failure, MetadataValue

from sales_pipeline.clients import ApiError, AuthError, QuotaExhausted
from sales_pipeline.defs.resources import MissingSettingError

NO_RUN_RETRY_TAG = "dagster/retry_on_asset_or_op_failure"
"""Run tag Dagster reads when a run fails with a step failure: ``false`` skips run retries."""


@dataclass(frozen=True)
class VendorHelp:
    """Where an operator fixes or checks one vendor."""

    credential: str
    """The variable(s) holding the credential, and the resource field they fill."""
    status_page: str
    quota: str
    """What the vendor's non-renewing quota is and when it comes back."""


VENDOR_HELP: Mapping[str, VendorHelp] = {
    "hubspot": VendorHelp(
        credential="HUBSPOT_ACCESS_TOKEN (resource `hubspot`, field `access_token`), or for "
        "OAuth HUBSPOT_CLIENT_ID, HUBSPOT_CLIENT_SECRET and HUBSPOT_REFRESH_TOKEN",
        status_page="https://status.hubspot.com",
        quota="HubSpot's daily request limit resets at midnight in the portal's time zone",
    ),
    "explorium": VendorHelp(
        credential="EXPLORIUM_API_KEY (resource `explorium`, field `api_key`)",
        status_page="https://status.explorium.ai",
        quota="Explorium credits are spent: add credits in the admin portal "
        "(https://admin.explorium.ai); deferred contacts are enriched by a later run",
    ),
    "lemlist": VendorHelp(
        credential="LEMLIST_API_KEY (resource `lemlist`, field `api_key`)",
        status_page="https://status.lemlist.com",
        quota="Lemlist's quota is spent for now",
    ),
}
"""Per vendor: the credential to fix, the status page, the quota's recovery."""


@dataclass(frozen=True)
class Explanation:
    """A failure, told for a person: what happened, what to do, whether retrying helps."""

    what: str
    todo: str
    retry_helps: bool

    def description(self) -> str:
        """The Markdown text Dagster shows for the failure."""
        retry = (
            "A retry can help: the run is retried by the instance's run retries, or re-run it."
            if self.retry_helps
            else "A retry does not help until this is fixed: run retries are skipped."
        )
        return f"{self.what}\n\n**What to do:** {self.todo}\n\n{retry}"


def explain(error: ApiError | MissingSettingError) -> Explanation:
    """How to tell ``error`` to an operator."""
    if isinstance(error, MissingSettingError):
        return Explanation(
            f"A setting the step needs is missing: {error}.",
            "Set the variable in the environment of the webserver, daemon and run workers (or "
            "the resource's field in the launchpad), then re-run.",
            retry_helps=False,
        )
    help_ = VENDOR_HELP.get(error.vendor)
    what = f"{type(error).__name__} from {error}."
    if isinstance(error, AuthError):
        credential = help_.credential if help_ else "the vendor's credential"
        todo = f"Check {credential}: the key is wrong, revoked, expired or lacks a scope."
        return Explanation(what, todo, retry_helps=False)
    if isinstance(error, QuotaExhausted):
        todo = f"{help_.quota}." if help_ else "Wait until the vendor's quota comes back."
        return Explanation(what, f"{todo} Re-run after that.", retry_helps=False)
    status = f"its status page {help_.status_page}" if help_ else "its status page"
    if error.retryable:
        todo = (
            f"The vendor is down, slow, throttling or busy with the record: check {status}. "
            "Outstanding work is kept in the store and finished by the next run."
        )
        return Explanation(what, todo, retry_helps=True)
    todo = (
        "The vendor refused the request, or answered what the client cannot read: the same "
        "call would fail again, so this needs a code or data fix. Quote the correlation id to "
        f"the vendor's support; {status} shows incidents."
    )
    return Explanation(what, todo, retry_helps=False)


def _failure(explanation: Explanation, error: Exception) -> Failure:
    metadata: dict[str, MetadataValue] = {
        "error_class": MetadataValue.text(type(error).__name__),
        "retry_helps": MetadataValue.bool(explanation.retry_helps),
    }
    if isinstance(error, ApiError):
        metadata["vendor"] = MetadataValue.text(error.vendor)
        if error.status is not None:
            metadata["status"] = MetadataValue.int(error.status)
        if error.correlation_id:
            metadata["correlation_id"] = MetadataValue.text(error.correlation_id)
    return Failure(
        description=explanation.description(),
        metadata=metadata,
        allow_retries=explanation.retry_helps,
    )


class StepContext(Protocol):
    """What :func:`explained_failures` needs of an asset's (or check's) context."""

    @property
    def instance(self) -> DagsterInstance: ...

    @property
    def run(self) -> DagsterRun: ...


@contextmanager
def explained_failures(context: StepContext) -> Iterator[None]:
    """Re-raise the typed errors of the block as a :class:`dagster.Failure` that says what to do;
    when a retry cannot help, first tag the context's run so run retries skip it. Other
    exceptions pass unchanged."""
    try:
        yield
    except (ApiError, MissingSettingError) as error:
        explanation = explain(error)
        if not explanation.retry_helps:
            context.instance.add_run_tags(context.run.run_id, {NO_RUN_RETRY_TAG: "false"})
        raise _failure(explanation, error) from error
