"""The writeback flow with a fake HubSpot and a SQLite store: a refused contact is isolated
and rejected, a transient failure is owed to a later run, owed writebacks are finished."""

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import cast

import pytest

from sales_pipeline.clients import (
    ContactUpsert,
    HubSpotClient,
    InputValidationError,
    PropertyDefinition,
    ServerError,
    UpsertResult,
)
from sales_pipeline.domain.retry import RetrySchedule
from sales_pipeline.flows.write_back import write_back
from sales_pipeline.store.backlog import Stage, WorkBacklog
from sales_pipeline.store.pipeline_store import PipelineStore

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
POISON = "bad@acme.com"


class FakeHubSpot:
    """Upserts by email into a dict; a batch holding :data:`POISON` is refused whole before
    sending (as the client's validation does); ``down`` makes every call a 503."""

    def __init__(self) -> None:
        self.contacts: dict[str, dict[str, str]] = {}
        self.down = False
        self.batches: list[int] = []

    def ensure_contact_properties(self, definitions: Sequence[PropertyDefinition]) -> list[str]:
        return []

    def batch_upsert_contacts(self, records: Sequence[ContactUpsert]) -> list[UpsertResult]:
        self.batches.append(len(records))
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
