"""The writeback flow with a fake HubSpot and a SQLite store: a refused contact is isolated
and rejected, a transient failure is owed to a later run, owed writebacks are finished."""

import threading
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import cast

import pytest

from sales_pipeline.clients import (
    ContactReadResult,
    ContactUpsert,
    HubSpotClient,
    HubSpotSettings,
    InputValidationError,
    PropertyDefinition,
    QuotaExhausted,
    ServerError,
    UpsertResult,
)
from sales_pipeline.domain.outcomes import PushOutcome
from sales_pipeline.domain.retry import RetrySchedule
from sales_pipeline.flows.write_back import changes_to_write, record_fingerprints, write_back
from sales_pipeline.store.backlog import Stage, WorkBacklog
from sales_pipeline.store.fingerprints import ContactFingerprints
from sales_pipeline.store.ledger import PushLedger
from sales_pipeline.store.pipeline_store import PipelineStore
from sales_pipeline.transforms.contacts import source_fingerprints
from sales_pipeline_tests.flows.side_by_side import SideBySide
from sales_pipeline_tests.test_schemas import frame, qualified

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
POISON = "bad@acme.com"


class FakeHubSpot(SideBySide):
    """Upserts by email into a dict; a batch holding :data:`POISON` is refused whole before
    sending (as the client's validation does); ``down`` makes every call a 503, and the
    batches after ``quota_after`` batches are refused for the quota."""

    def __init__(self, concurrency: int = 1, batch_size: int = 100) -> None:
        super().__init__(concurrency)
        self.settings = HubSpotSettings(batch_size=batch_size)
        self.contacts: dict[str, dict[str, str]] = {}
        self.down = False
        self.quota_after: int | None = None
        self.batches: list[int] = []
        self._lock = threading.Lock()

    def ensure_contact_properties(self, definitions: Sequence[PropertyDefinition]) -> list[str]:
        return []

    def batch_read_contacts(
        self, ids: Sequence[str], properties: Sequence[str]
    ) -> list[ContactReadResult]:
        """Contacts by id, where the id is the email (as :meth:`_upsert` answers)."""
        return [
            ContactReadResult(i, {"email": i, **self.contacts.get(i, {})})
            for i in dict.fromkeys(ids)
        ]

    def batch_upsert_contacts(self, records: Sequence[ContactUpsert]) -> list[UpsertResult]:
        with self._lock:
            return self._upsert(records)

    def _upsert(self, records: Sequence[ContactUpsert]) -> list[UpsertResult]:
        self.batches.append(len(records))
        if self.quota_after is not None and len(self.batches) > self.quota_after:
            raise QuotaExhausted("daily quota", vendor="hubspot", operation="batch_upsert")
        if self.down:
            raise ServerError("503", vendor="hubspot", operation="batch_upsert_contacts")
        if any(r.email == POISON for r in records):
            raise InputValidationError(
                "contains control characters",
                vendor="hubspot",
                operation="batch_upsert_contacts",
                field="records[0].properties.sp_segment",
            )
        for record in records:
            self.contacts[record.email] = {k: str(v) for k, v in record.properties.items()}
        return [UpsertResult(r.email, True, contact_id=r.email) for r in records]


@pytest.fixture
def backlog(tmp_path: Path) -> Iterator[WorkBacklog]:
    with PipelineStore(f"sqlite:///{tmp_path / 'store.sqlite'}") as store:
        yield WorkBacklog(store, RetrySchedule(first_delay=timedelta(minutes=5)))


def _changes(*emails: str) -> dict[str, dict[str, str]]:
    return {email: {"sp_segment": "smb", "sp_push_status": "added"} for email in emails}


def test_a_refused_contact_is_isolated_and_the_others_are_written(
    backlog: WorkBacklog,
) -> None:
    hubspot = FakeHubSpot()
    emails = [f"lead{n}@acme.com" for n in range(7)]
    report = write_back(
        cast(HubSpotClient, hubspot), _changes(*emails, POISON), backlog, "2026-03-01", NOW
    )
    assert sorted(report.written) == sorted(emails)
    assert list(report.rejected) == [POISON]
    assert "InputValidationError" in report.rejected[POISON]
    assert sorted(hubspot.contacts) == sorted(emails)
    assert backlog.items(Stage.WRITEBACK) == []


def test_a_transient_failure_is_owed_and_a_later_run_writes_it(backlog: WorkBacklog) -> None:
    hubspot = FakeHubSpot()
    hubspot.down = True
    first = write_back(cast(HubSpotClient, hubspot), _changes("ana@acme.com"), backlog, "d1", NOW)
    assert list(first.deferred) == ["ana@acme.com"]
    [owed] = backlog.items(Stage.WRITEBACK)
    assert (owed.key, owed.partition, owed.attempts) == ("ana@acme.com", "d1", 1)

    hubspot.down = False
    too_soon = write_back(cast(HubSpotClient, hubspot), {}, backlog, "d2", NOW)
    assert too_soon.written == []
    later = write_back(cast(HubSpotClient, hubspot), {}, backlog, "d3", NOW + timedelta(hours=1))
    assert (later.written, later.owed_written) == (["ana@acme.com"], 1)
    assert hubspot.contacts["ana@acme.com"] == {"sp_segment": "smb", "sp_push_status": "added"}
    assert backlog.due(Stage.WRITEBACK, NOW + timedelta(days=1)) == []


def test_batches_written_side_by_side_isolate_a_refused_contact(backlog: WorkBacklog) -> None:
    hubspot = FakeHubSpot(concurrency=4, batch_size=3)
    emails = [f"lead{n}@acme.com" for n in range(10)]
    report = write_back(
        cast(HubSpotClient, hubspot), _changes(*emails, POISON), backlog, "2026-03-01", NOW
    )
    assert report.written == emails
    assert list(report.rejected) == [POISON]
    assert sorted(hubspot.contacts) == sorted(emails)
    assert backlog.items(Stage.WRITEBACK) == []


def test_a_quota_stop_starts_no_further_batch_and_owes_the_rest(backlog: WorkBacklog) -> None:
    concurrency = 3
    hubspot = FakeHubSpot(concurrency=concurrency, batch_size=2)
    hubspot.quota_after = 2
    emails = [f"lead{n}@acme.com" for n in range(12)]
    report = write_back(cast(HubSpotClient, hubspot), _changes(*emails), backlog, "d1", NOW)
    assert isinstance(report.stopped_by, QuotaExhausted)
    assert len(hubspot.batches) <= 3 + concurrency - 1, "only batches already in flight follow"
    assert sorted(report.written) == sorted(hubspot.contacts)
    assert len(report.written) == 4
    owed = backlog.items(Stage.WRITEBACK)
    assert sorted(item.key for item in owed) == sorted(set(emails) - set(report.written))
    assert {item.reason for item in owed} == {report.deferred[owed[0].key]}


def test_changes_computed_slice_by_slice_are_those_computed_at_once(tmp_path: Path) -> None:
    emails = [f"lead{n}@acme.com" for n in range(7)]
    leads = frame(*(qualified(email=e, hubspot_id=e) for e in emails))
    hubspot = cast(HubSpotClient, FakeHubSpot(batch_size=2))
    with PipelineStore(f"sqlite:///{tmp_path / 'store.sqlite'}") as store:
        ledger = PushLedger(store)
        ledger.record_push_intent("cam_1", emails[0], "h", "run-1", now=NOW)
        ledger.record_push_outcome("cam_1", emails[0], PushOutcome.ADDED, now=NOW)
        at_once = changes_to_write(hubspot, leads, ledger)
        write_back(hubspot, {e: at_once[e] for e in emails[:3]}, WorkBacklog(store), "p", NOW)
        sliced = changes_to_write(hubspot, leads, ledger, slice_size=3)
        after_write = changes_to_write(hubspot, leads, ledger)
    assert set(at_once) == set(emails)
    assert at_once[emails[0]]["sp_push_status"] == "added"
    assert sliced == after_write
    assert set(sliced) == set(emails[3:])


def test_equal_property_values_are_one_string_across_slices(tmp_path: Path) -> None:
    """A million contacts' properties are held until they are written: each distinct value
    once, not once per contact."""
    emails = [f"lead{n}@acme.com" for n in range(6)]
    leads = frame(*(qualified(email=e, hubspot_id=e) for e in emails))
    hubspot = cast(HubSpotClient, FakeHubSpot())
    with PipelineStore(f"sqlite:///{tmp_path / 'store.sqlite'}") as store:
        changes = changes_to_write(hubspot, leads, PushLedger(store), slice_size=4)

    statuses = {id(changes[e]["sp_enrichment_status"]) for e in emails}
    assert changes[emails[0]]["sp_enrichment_status"] == changes[emails[5]]["sp_enrichment_status"]
    assert len(statuses) == 1


def test_fingerprints_recorded_slice_by_slice_cover_every_lead(tmp_path: Path) -> None:
    emails = [f"Lead{n}@acme.com" for n in range(7)]
    leads = frame(*(qualified(email=e.lower(), hubspot_id=str(n)) for n, e in enumerate(emails)))
    with PipelineStore(f"sqlite:///{tmp_path / 'store.sqlite'}") as store:
        fingerprints = ContactFingerprints(store)
        record_fingerprints(fingerprints, leads, NOW, slice_size=3)
        recorded = fingerprints.get(emails)

    assert recorded == dict(zip(leads["email"], source_fingerprints(leads), strict=True))
    assert len(recorded) == 7
