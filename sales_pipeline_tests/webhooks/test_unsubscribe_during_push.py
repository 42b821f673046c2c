"""A lead who unsubscribes in Lemlist while its day is being processed is never pushed: the
webhook reaches the inbox and one tick of the inbox sensor suppresses it before the push."""

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests
from dagster import DagsterInstance
from dagster._core.instance.ref import InstanceRef

from sales_pipeline.cli.webhooks import register_lemlist_hook
from sales_pipeline.defs.sensors import webhook_inbox_sensor
from sales_pipeline.flows.push import SKIPPED_SUPPRESSED
from sales_pipeline.sandbox.lemlist.model import DAY, HOUR, plan_timeline
from sales_pipeline.settings import Settings
from sales_pipeline.store.inbox import WebhookInbox, WebhookVendor
from sales_pipeline.webhooks import ReceiverConfig, running_receiver
from sales_pipeline_tests.automation.conftest import Automation
from sales_pipeline_tests.pipeline.conftest import make_world
from sales_pipeline_tests.webhooks.conftest import LEMLIST_SECRET, wait_for

WORLD_NOW = datetime(2026, 11, 16, 12, 0, tzinfo=UTC)
"""The sandbox world is generated around this moment, so the day's leads are always the same."""
DAY_PROCESSED = "2026-11-13"
"""A day of that world with a qualified lead whose Lemlist timeline ends in an unsubscribe."""


@pytest.fixture
def automation(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Automation]:
    monkeypatch.setenv("SALES_PIPELINE_HUBSPOT_SEARCH_LAG_SECONDS", "0")
    for world in make_world(tmp_path, now=WORLD_NOW):
        dagster_home = world.home / "dagster"
        dagster_home.mkdir(parents=True)
        with DagsterInstance.from_ref(InstanceRef.from_dir(str(dagster_home))) as instance:
            yield Automation(world, instance)


def _unsubscribes(email: str) -> bool:
    """Whether the sandbox's Lemlist timeline of ``email`` ends in an unsubscribe."""
    return any(step.type == "emailsUnsubscribed" for step in plan_timeline(7, email.lower()))


def test_an_unsubscribe_webhook_stops_the_push_of_the_day(automation: Automation) -> None:
    world = automation.world
    assert automation.materialize(
        DAY_PROCESSED, "hubspot_contacts", "enriched_contacts", "qualified_leads"
    ).success
    qualified = world.frame("qualified_leads", DAY_PROCESSED)
    chosen = qualified[~qualified["excluded"]]
    leaving = next(str(email) for email in chosen["email"] if _unsubscribes(str(email)))

    with world.store() as store:
        config = ReceiverConfig(lemlist_secret=LEMLIST_SECRET)
        with running_receiver(config, store) as url:
            settings = Settings.from_env(
                {
                    "LEMLIST_BASE_URL": world.sandbox.lemlist_url,
                    "LEMLIST_API_KEY": world.sandbox.credentials.lemlist_key,
                    "LEMLIST_WEBHOOK_SECRET": LEMLIST_SECRET,
                }
            )
            assert register_lemlist_hook(settings, f"{url}/webhooks/lemlist", lambda _: None) == 0
            # Sales put the person into a running campaign by hand; a day later they
            # unsubscribe from its first email, while the pipeline is working on their day.
            campaigns = automation.lemlist("GET", "/campaigns?version=v2")["campaigns"]
            by_hand = next(c["_id"] for c in campaigns if c["status"] == "running")
            requests.post(
                f"{world.sandbox.lemlist_url}/campaigns/{by_hand}/leads/",
                json={"email": leaving},
                auth=("", world.sandbox.credentials.lemlist_key),
                timeout=30,
            ).raise_for_status()
            automation.advance_clock(DAY + 2 * HOUR)
            inbox = WebhookInbox(store)

            def unsubscribe_received() -> bool:
                return any(
                    entry.event.event_type == "emailsUnsubscribed"
                    and str(entry.event.payload.get("leadEmail")).lower() == leaving.lower()
                    for entry in inbox.pending(WebhookVendor.LEMLIST)
                )

            wait_for(unsubscribe_received, "the unsubscribe webhook")
        assert not store.is_suppressed(leaving)
        automation.tick(webhook_inbox_sensor, None)
        assert store.is_suppressed(leaving), "one tick suppresses"

    assert automation.materialize(DAY_PROCESSED, "lemlist_leads").success
    pushes = world.frame("lemlist_leads", DAY_PROCESSED).set_index("email")["result"]
    assert pushes[leaving] == SKIPPED_SUPPRESSED
    assert (pushes == "added").sum() == len(chosen) - 1
    refused = world.stats()["lemlist"]["leads_refused"]
    assert "Email address is in the graveyard" not in refused, "no push was even tried"
