"""The Lemlist activity sensor against the sandbox: suppression at once, engagement to HubSpot."""

from datetime import UTC, datetime, timedelta

import pandas as pd
from dagster._core.definitions.sensor_definition import SensorExecutionData

from sales_pipeline.clients import Activity
from sales_pipeline.defs.jobs import engagement_job
from sales_pipeline.defs.sensors import ActivityCursor, lemlist_activity_sensor
from sales_pipeline.domain.outcomes import ExclusionReason
from sales_pipeline.domain.records import Engagement
from sales_pipeline.flows.engagement import (
    LEAD_STATUS,
    engagements_from_activities,
    latest_per_email,
)
from sales_pipeline.flows.push import SKIPPED_SUPPRESSED
from sales_pipeline.store.engagement import EngagementQueue
from sales_pipeline_tests.automation.conftest import Automation

TWO_DAYS = 2 * 86_400
"""Long enough for first emails, replies, bounces, unsubscribes and interest to happen."""


def _all_activities(automation: Automation) -> list[Activity]:
    with automation.resources.lemlist.get_client() as client:
        since = datetime.now(UTC) - timedelta(days=7)
        return list(client.iter_activities(since=since))


def _run_keys(result: SensorExecutionData) -> list[str | None]:
    return [request.run_key for request in result.run_requests or []]


def test_the_cursor_keeps_the_latest_instant_and_its_ids() -> None:
    start = ActivityCursor(datetime(2026, 11, 1, tzinfo=UTC), frozenset({"act_a"}))
    instant = datetime(2026, 11, 1, tzinfo=UTC)
    same_instant = Activity("act_b", "emailsOpened", created_at=instant)
    later = Activity("act_c", "emailsOpened", created_at=instant + timedelta(seconds=1))
    assert not start.is_new(Activity("act_a", "emailsOpened", created_at=instant))
    assert start.is_new(same_instant)
    assert start.is_new(later)
    assert start.advanced([same_instant]).ids == frozenset({"act_a", "act_b"})
    advanced = start.advanced([later, same_instant])
    assert advanced == ActivityCursor(
        datetime(2026, 11, 1, 0, 0, 1, tzinfo=UTC), frozenset({"act_c"})
    )
    assert ActivityCursor.parse(advanced.serialize()) == advanced


def test_an_unsubscribe_arriving_mid_day_is_never_pushed(automation: Automation) -> None:
    day = automation.world.partitions[0]
    upstream = automation.materialize(
        day, "hubspot_contacts", "enriched_contacts", "qualified_leads"
    )
    assert upstream.success
    qualified = automation.world.frame("qualified_leads", day)
    chosen = qualified[~qualified["excluded"]]
    assert len(chosen) > 3
    leaving = str(chosen["email"].iloc[1])
    # The person unsubscribes in Lemlist after qualification, before the push.
    automation.lemlist("POST", f"/unsubscribes/{leaving}")

    tick = automation.tick(lemlist_activity_sensor, None)
    assert not tick.run_requests
    with automation.world.store() as store:
        assert store.is_suppressed(leaving), "the sensor tick itself suppresses"

    assert automation.materialize(day, "lemlist_leads").success
    pushes = automation.world.frame("lemlist_leads", day).set_index("email")["result"]
    assert pushes[leaving] == SKIPPED_SUPPRESSED
    assert (pushes == "added").sum() == len(chosen) - 1
    in_lemlist = {email for _, email in automation.world.lemlist_leads()}
    assert leaving not in in_lemlist

    # A later run of the same day qualifies it out with the reason, and pushes nothing new.
    assert automation.materialize(day, "qualified_leads", "lemlist_leads").success
    requalified = automation.world.frame("qualified_leads", day).set_index("email")
    assert requalified.loc[leaving, "exclusion_reason"] == ExclusionReason.UNSUBSCRIBED
    assert {email for _, email in automation.world.lemlist_leads()} == in_lemlist


def test_engagement_is_suppressed_at_once_and_written_to_hubspot(automation: Automation) -> None:
    for day in automation.world.partitions:
        assert automation.materialize(day).success
    before = automation.tick(lemlist_activity_sensor, None)
    assert not before.run_requests, "no email has gone out yet"

    automation.advance_clock(TWO_DAYS)
    activities = _all_activities(automation)
    engaged = latest_per_email(engagements_from_activities(activities))
    assert engaged, "the sandbox's leads reply, bounce or unsubscribe"
    first = automation.tick(lemlist_activity_sensor, before.cursor)
    assert len(_run_keys(first)) == 1
    assert ActivityCursor.parse(first.cursor).since == max(
        a.created_at for a in activities if a.created_at is not None
    )
    with automation.world.store() as store:
        sources = store.suppression_sources(pd.Series(sorted(engaged)))
        queue = EngagementQueue(store)
        assert {e.activity_id for e in queue.pending()} == {
            e.activity_id for e in engagements_from_activities(activities)
        }
    # Replies, bounces and unsubscribes are suppressed (interest only ever follows a reply).
    assert sources.notna().all()

    # The same tick again: nothing queued twice, the same run key (Dagster launches it once).
    again = automation.tick(lemlist_activity_sensor, before.cursor)
    assert _run_keys(again) == _run_keys(first)
    with automation.world.store() as store:
        assert EngagementQueue(store).pending_count() == len(
            engagements_from_activities(activities)
        )

    # An engagement of someone the pipeline never pushed must not create a HubSpot contact.
    stranger = "someone.else@not-a-lead.example.com"
    with automation.world.store() as store:
        EngagementQueue(store).add(
            [Engagement("act_stranger", stranger, "emailsReplied", "CONNECTED", datetime.now(UTC))]
        )

    job = automation.defs.resolve_job_def(engagement_job.name)
    result = job.execute_in_process(instance=automation.instance)
    assert result.success
    [materialization] = result.asset_materializations_for_node("hubspot_engagement_writeback")
    counts = {k: v.value for k, v in materialization.metadata.items()}
    assert counts["written"] == len(engaged)
    assert counts["skipped"] == 1
    assert counts["failed"] == 0
    outcomes = str(materialization.metadata["outcomes"].value)
    assert outcomes.count("| written") == len(engaged)
    assert "@" in outcomes
    assert not any(email in outcomes for email in [stranger, *engaged]), "emails are masked"

    # (The sandbox keeps some people twice under two email casings: one of them is updated.)
    statuses: dict[str, set[tuple[str, str]]] = {}
    for contact in automation.world.state("hubspot")["contacts"]:
        properties = contact["properties"]
        statuses.setdefault((properties.get("email") or "").lower(), set()).add(
            (properties.get("hs_lead_status"), properties.get("sp_lemlist_engagement"))
        )
    assert stranger not in statuses
    for email, engagement in engaged.items():
        expected = (LEAD_STATUS[engagement.activity_type], engagement.activity_type)
        assert expected in statuses[email]

    # Written: the queue is empty, the next tick asks for nothing and a rerun writes nothing.
    quiet = automation.tick(lemlist_activity_sensor, first.cursor)
    assert not quiet.run_requests
    assert quiet.cursor == first.cursor
    rerun = job.execute_in_process(instance=automation.instance)
    [empty] = rerun.asset_materializations_for_node("hubspot_engagement_writeback")
    assert empty.metadata["contacts"].value == 0
