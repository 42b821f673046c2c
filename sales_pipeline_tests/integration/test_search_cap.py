"""HubSpot search past its 10,000-result cap against the sandbox: a bulk import of 12,000
contacts sharing one ``lastmodifieddate`` is walked completely, each contact once."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from sales_pipeline.clients import HubSpotSettings
from sales_pipeline.sandbox import SandboxConfig, run_sandbox
from sales_pipeline_tests.integration.conftest import CREDENTIALS, Clients, SandboxControl

BULK_IMPORT = 12_000
CONTACTS = 3_000


@pytest.fixture(scope="module")
def bulk_sandbox() -> Iterator[SandboxControl]:
    """A sandbox whose world holds a 12,000-contact bulk import; search limits raised (50/s,
    burst 1,000: this module only searches) so the 75+ pages take seconds, not 15 s each."""
    config = SandboxConfig(contacts=CONTACTS, bulk_import=BULK_IMPORT, credentials=CREDENTIALS)
    with run_sandbox(config) as handle:
        control = SandboxControl(handle)
        control.set_limits(hubspot={"search_per_second": 50, "burst_limit": 1000})
        yield control
        control.session.close()


@pytest.fixture
def hubspot_clients(bulk_sandbox: SandboxControl, limiter) -> Iterator[Clients]:
    factory = Clients(bulk_sandbox.handle, limiter)
    yield factory
    factory.close()


def modified_ms(contact: dict[str, object]) -> int:
    stamp = str(contact["properties"]["lastmodifieddate"])  # type: ignore[index]
    return int(datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp() * 1000)


def bulk_import_day(contacts: list[dict[str, object]]) -> datetime:
    """Midnight UTC of the day the bulk import's shared timestamp falls on."""
    stamps = [modified_ms(contact) for contact in contacts]
    shared = max(set(stamps), key=stamps.count)
    moment = datetime.fromtimestamp(shared / 1000, tz=UTC)
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


def test_walks_windows_past_the_cap_returning_each_contact_once(
    bulk_sandbox: SandboxControl, hubspot_clients: Clients
):
    contacts = bulk_sandbox.state("hubspot")["contacts"]
    day, now = bulk_import_day(contacts), datetime.now(UTC)
    windows = {
        "bulk import day": (day, day + timedelta(days=1)),
        "last 31 days": (now - timedelta(days=31), now),
    }
    hubspot = hubspot_clients.hubspot(settings=HubSpotSettings(search_limit=45, burst_limit=1000))
    expected: dict[str, list[int]] = {}
    walked: dict[str, list[int]] = {}

    for name, (start, end) in windows.items():
        low, high = int(start.timestamp() * 1000), int(end.timestamp() * 1000)
        expected[name] = sorted(int(c["id"]) for c in contacts if low <= modified_ms(c) < high)
        walked[name] = [int(c["id"]) for c in hubspot.iter_contacts_modified(start, end, ["email"])]

    assert len(expected["bulk import day"]) > BULK_IMPORT
    assert len(expected["last 31 days"]) == CONTACTS + BULK_IMPORT
    for name, ids in walked.items():
        assert len(ids) == len(set(ids)), name
        assert sorted(ids) == expected[name], name
    assert bulk_sandbox.stats("hubspot")["rate_limited"] == 0
