"""Writing the pipeline's results back to HubSpot contacts.

Plain Python over the HubSpot client, the store and the transforms (no Dagster). The values come
from :func:`~sales_pipeline.transforms.writeback.writeback_values`; only contacts whose values
HubSpot does not already hold are written, upserted by email in batches with a result per
contact. Besides the contacts it is given, the writeback finishes the writebacks that are owed
(:class:`~sales_pipeline.store.backlog.Stage` ``WRITEBACK``): ones that failed transiently in an
earlier run, and the push status of leads an earlier run owed and this run pushed.

The batches (the client's batch size, HubSpot's maximum of 100 by default) are sent side by
side, up to the client's concurrency and paced by the shared rate limiter, and so are the reads
of what HubSpot holds. A contact HubSpot refuses (or whose values cannot be sent) is *rejected*
with HubSpot's message and the others are written: a batch the client refuses as a whole is
split until the refused contact is alone. A batch that fails for a transient reason after its
retries is *deferred* to the backlog, for any later run; the other batches go on.
Authentication failures, exhausted quotas and an open breaker stop the writeback: no batch
starts after it (those in flight finish and are recorded), everything not yet written is
deferred, and :attr:`WritebackReport.stopped_by` says why.

A dry run (:func:`planned_writes`) returns exactly what :func:`write_back` would upsert now (the
changes and the owed writebacks that are due) without creating properties, sending or recording
anything.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeVar

import pandas as pd

from sales_pipeline.clients import (
    ApiError,
    ContactUpsert,
    HubSpotClient,
    InputValidationError,
    PropertyDefinition,
    UpsertResult,
)
from sales_pipeline.domain.outcomes import OUTSTANDING_OUTCOMES
from sales_pipeline.flows.errors import POISON, STOPPING, describe
from sales_pipeline.flows.push import PushResult
from sales_pipeline.store.backlog import Stage, WorkBacklog
from sales_pipeline.store.fingerprints import ContactFingerprints
from sales_pipeline.store.ledger import PushLedger
from sales_pipeline.transforms.contacts import source_fingerprints
from sales_pipeline.transforms.writeback import (
    WRITEBACK_PROPERTIES,
    changed_values,
    ledger_values,
    writeback_values,
)

T = TypeVar("T")

SLICE = 20_000
"""Leads whose changes are computed together (see :func:`changes_to_write`)."""

_REFUSED: tuple[type[Exception], ...] = (InputValidationError, *POISON)
"""Errors of records the client refuses to send: split the batch until the record is alone."""


def property_definitions() -> list[PropertyDefinition]:
    """The HubSpot property definitions of :data:`WRITEBACK_PROPERTIES`."""
    return [
        PropertyDefinition(
            name=name,
            label=f"Sales pipeline: {column.replace('_', ' ')}",
            type=kind,
            field_type=field_type,
            description="Written by sales_pipeline; overwritten on each run.",
        )
        for name, (column, kind, field_type) in WRITEBACK_PROPERTIES.items()
    ]


@dataclass
class WritebackReport:
    """What the writeback did, per contact."""

    written: list[str] = field(default_factory=list)
    rejected: dict[str, str] = field(default_factory=dict)
    """Email -> HubSpot's (or the validator's) reason."""
    deferred: dict[str, str] = field(default_factory=dict)
    """Email -> why it is left for a later run."""
    owed_written: int = 0
    created_properties: list[str] = field(default_factory=list)
    stopped_by: ApiError | None = None


def current_values(
    client: HubSpotClient, hubspot_ids: Sequence[str]
) -> dict[str, Mapping[str, str | None]]:
    """What HubSpot holds now of the writeback properties, by lower-cased email (the batches
    read side by side)."""
    names = ["email", *WRITEBACK_PROPERTIES]
    ids = list(dict.fromkeys(hubspot_ids))
    batches = _batches(ids, client.settings.batch_size)
    return {
        str(result.properties.get("email") or "").lower(): result.properties
        for results in client.concurrently(lambda b: client.batch_read_contacts(b, names), batches)
        for result in results
        if result.properties is not None
    }


def changes_to_write(
    client: HubSpotClient, leads: pd.DataFrame, ledger: PushLedger, slice_size: int = SLICE
) -> dict[str, dict[str, str]]:
    """Email -> the properties to write, for the ``leads`` (``QualifiedLeads`` rows) whose
    writeback values HubSpot does not already hold. Computed ``slice_size`` leads at a time:
    the ledger rows and what HubSpot holds are read per slice, so they are never all in memory
    for a big partition."""
    changes: dict[str, dict[str, str]] = {}
    shared: dict[str, str] = {}
    for start in range(0, len(leads), slice_size):
        part = leads.iloc[start : start + slice_size]
        values = writeback_values(part, ledger.settled_pushes(part["email"]))
        current = current_values(client, part["hubspot_id"].tolist())
        changes.update(changed_values(values, current, shared))
    return changes


def record_fingerprints(
    fingerprints: ContactFingerprints, leads: pd.DataFrame, now: datetime, slice_size: int = SLICE
) -> None:
    """Record each lead's source fingerprint as processed at ``now``, so the pipeline's own
    write does not bring the contact back as new work; ``slice_size`` leads at a time: the
    digests and their rows for a whole partition at once took about 1 KB per lead (measured:
    a GiB at a million leads)."""
    for start in range(0, len(leads), slice_size):
        part = leads.iloc[start : start + slice_size]
        fingerprints.record(dict(zip(part["email"], source_fingerprints(part), strict=True)), now)


def write_back(
    client: HubSpotClient,
    changes: Mapping[str, Mapping[str, str]],
    backlog: WorkBacklog,
    partition: str,
    now: datetime,
) -> WritebackReport:
    """Write ``changes`` (email -> properties) and every owed writeback that is due."""
    report = WritebackReport(
        created_properties=client.ensure_contact_properties(property_definitions())
    )
    wanted = planned_writes(changes, backlog, now)
    records = [ContactUpsert(e, v) for e, v in wanted.items()]
    stop = _Stop()
    for part in client.concurrently(
        lambda batch: _upsert_isolating(client, batch, WritebackReport(), stop),
        _batches(records, client.settings.batch_size),
    ):
        report.written += part.written
        report.rejected.update(part.rejected)
        report.deferred.update(part.deferred)
    report.stopped_by = stop.error
    for reason in set(report.deferred.values()):
        failed = [e for e, why in report.deferred.items() if why == reason]
        backlog.defer(Stage.WRITEBACK, ((e, partition, wanted[e]) for e in failed), reason, now)
    backlog.done(Stage.WRITEBACK, [*report.written, *report.rejected], now)
    report.owed_written = sum(email not in changes for email in report.written)
    return report


def planned_writes(
    changes: Mapping[str, Mapping[str, str]], backlog: WorkBacklog, now: datetime
) -> dict[str, Mapping[str, str]]:
    """Email -> properties :func:`write_back` sends now: ``changes`` and every owed writeback
    that is due (a change wins over an owed write of the same contact). Reads only."""
    owed = {
        item.key: dict(item.payload)
        for item in backlog.due(Stage.WRITEBACK, now)
        if item.key not in changes
    }
    return {**owed, **changes}


class _Stop:
    """The error that stopped the writeback, shared by the batches running side by side; the
    first one is kept."""

    def __init__(self) -> None:
        self.error: ApiError | None = None
        self._lock = threading.Lock()

    def set(self, error: ApiError) -> None:
        """Stop with ``error``, unless an earlier error already stopped the writeback."""
        with self._lock:
            if self.error is None:
                self.error = error


def _batches(items: Sequence[T], size: int) -> list[list[T]]:
    """Consecutive batches of ``items`` of at most ``size``."""
    return [list(items[start : start + size]) for start in range(0, len(items), size)]


def _upsert_isolating(
    client: HubSpotClient, records: Sequence[ContactUpsert], report: WritebackReport, stop: _Stop
) -> WritebackReport:
    """Upsert ``records`` unless the writeback has stopped; a batch refused as a whole before
    sending is split until the refused record is alone. Fills and returns ``report``."""
    if not records:
        return report
    if stop.error is not None:
        report.deferred.update((r.email, describe(stop.error)) for r in records)
        return report
    try:
        results = client.batch_upsert_contacts(records)
    except _REFUSED as refused:
        if len(records) == 1:
            report.rejected[records[0].email] = describe(refused)
            return report
        middle = len(records) // 2
        _upsert_isolating(client, records[:middle], report, stop)
        return _upsert_isolating(client, records[middle:], report, stop)
    except ApiError as failure:
        done = _record(failure.partial or [], report)
        if isinstance(failure, STOPPING):
            stop.set(failure)
        report.deferred.update((r.email, describe(failure)) for r in records if r.email not in done)
        return report
    _record(results, report)
    return report


def _record(results: Sequence[UpsertResult], report: WritebackReport) -> set[str]:
    for result in results:
        if result.ok:
            report.written.append(result.email)
        else:
            report.rejected[result.email] = result.error or "refused by HubSpot"
    return {result.email for result in results}


def write_back_owed_pushes(
    backlog: WorkBacklog,
    ledger: PushLedger,
    pushed: Sequence[PushResult],
    partition: str,
    now: datetime,
) -> int:
    """Queue the HubSpot writeback of the owed pushes this run settled (their leads are in no
    frame of this run): campaign, segment and push status from the ledger. Returns how many."""
    owed = [(result.campaign_id, result.email) for result in pushed if result.owed]
    items = [
        (record.email, partition, ledger_values(record))
        for record in ledger.get_pushes(owed).values()
        if record.outcome not in OUTSTANDING_OUTCOMES
    ]
    backlog.enqueue(Stage.WRITEBACK, items, now)
    return len(items)
