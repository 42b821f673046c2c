"""The HubSpot changes sensor against the sandbox: cheap polls, exact days, one request each."""

import time
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
import requests

from sales_pipeline.clients import ContactUpsert
from sales_pipeline.defs.sensors import day_bounds, hubspot_changes_sensor
from sales_pipeline_tests.automation.conftest import Automation


def _modified_per_day(automation: Automation, since: datetime) -> Counter[str]:
    """Contacts modified at or after ``since``, per UTC day, from the sandbox's own state."""
    days: Counter[str] = Counter()
    for contact in automation.world.state("hubspot")["contacts"]:
        moment = datetime.fromisoformat(contact["properties"]["lastmodifieddate"])
        if moment >= since:
            days[moment.date().isoformat()] += 1
    return days


def _touch_contact(automation: Automation, job_title: str) -> str:
    """Change one HubSpot contact's job title (its lastmodifieddate becomes now); its email."""
    contacts = automation.world.state("hubspot")["contacts"]
    email = next(c["properties"]["email"] for c in contacts if c["properties"].get("email"))
    with automation.resources.hubspot.get_client() as client:
        [result] = client.batch_upsert_contacts([ContactUpsert(email, {"jobtitle": job_title})])
    assert result.ok
    return str(email)


def test_day_bounds_split_a_window_at_utc_midnights() -> None:
    start = datetime(2026, 11, 24, 22, 30, tzinfo=UTC)
    end = datetime(2026, 11, 26, 1, 0, tzinfo=UTC)
    assert day_bounds(start, end) == [
        start,
        datetime(2026, 11, 25, tzinfo=UTC),
        datetime(2026, 11, 26, tzinfo=UTC),
        end,
    ]
    assert day_bounds(start, start + timedelta(hours=1)) == [start, start + timedelta(hours=1)]


def test_a_change_is_requested_once_for_its_day(automation: Automation) -> None:
    today = datetime.now(UTC).date().isoformat()
    start_of_today = datetime.fromisoformat(today).replace(tzinfo=UTC)
    first = automation.tick(hubspot_changes_sensor, None)
    # The first tick looks at the current UTC day (the schedule covers the days before).
    assert [r.partition_key for r in first.run_requests or []] == sorted(
        _modified_per_day(automation, start_of_today)
    )
    assert first.cursor is not None

    searches = automation.search_requests()
    quiet = automation.tick(hubspot_changes_sensor, first.cursor)
    assert not quiet.run_requests
    assert quiet.skip_message
    assert "no HubSpot contact modified" in quiet.skip_message
    assert automation.search_requests() - searches == 1, "an idle poll costs one search"
    assert quiet.cursor
    assert quiet.cursor > first.cursor

    _touch_contact(automation, "Head of Automation Tests")
    changed = automation.tick(hubspot_changes_sensor, quiet.cursor)
    [request] = changed.run_requests or []
    assert request.partition_key == today
    assert request.run_key == f"hubspot-changes:{today}:{quiet.cursor}"
    # The same tick evaluated again (say, the daemon restarted before saving the cursor) asks
    # for the same run key, which Dagster launches once; the next tick asks for nothing.
    again = automation.tick(hubspot_changes_sensor, quiet.cursor)
    assert [r.run_key for r in again.run_requests or []] == [request.run_key]
    assert not automation.tick(hubspot_changes_sensor, changed.cursor).run_requests


def test_an_old_cursor_requests_exactly_the_days_that_changed(automation: Automation) -> None:
    since = datetime.now(UTC).replace(hour=12, minute=0, second=0, microsecond=0) - timedelta(
        days=4
    )
    expected = _modified_per_day(automation, since)
    searches = automation.search_requests()
    result = automation.tick(hubspot_changes_sensor, since.isoformat(timespec="milliseconds"))
    requested = [r.partition_key for r in result.run_requests or []]
    assert requested == sorted(expected), "one run per day with changes, oldest first"
    assert len(requested) >= 3
    assert len({r.run_key for r in result.run_requests or []}) == len(requested)
    # one count at the cursor, one per midnight in the window and one at its end
    assert automation.search_requests() - searches == len(day_bounds(since, datetime.now(UTC)))


def test_a_change_still_being_indexed_is_requested_later_not_lost(
    automation: Automation, monkeypatch: pytest.MonkeyPatch
) -> None:
    requests.put(
        f"{automation.world.sandbox.control_url}/limits",
        json={"hubspot": {"search_lag_seconds": 1.5}},
        timeout=10,
    ).raise_for_status()
    monkeypatch.setenv("SALES_PIPELINE_HUBSPOT_SEARCH_LAG_SECONDS", "2")
    cursor = automation.tick(hubspot_changes_sensor, None).cursor
    time.sleep(2.1)
    cursor = automation.tick(hubspot_changes_sensor, cursor).cursor
    _touch_contact(automation, "Late Indexed")
    not_yet = automation.tick(hubspot_changes_sensor, cursor)
    assert not not_yet.run_requests, "the change is younger than the search lag"
    time.sleep(2.1)
    later = automation.tick(hubspot_changes_sensor, not_yet.cursor)
    assert [r.partition_key for r in later.run_requests or []] == [
        datetime.now(UTC).date().isoformat()
    ]
