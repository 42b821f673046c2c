"""The enrichment flow against the sandbox's Explorium: each prospect and business is bought
once per time to live, across concurrent chunks and across runs; the credits counted are those
Explorium reported; quota and refusals keep their behaviour with chunks side by side."""

from __future__ import annotations

import dataclasses
import json
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest

from sales_pipeline.clients import ExploriumClient
from sales_pipeline.clients.hubspot.contacts import read_contact
from sales_pipeline.flows.enrich import PassMemory, enrich_new_contacts
from sales_pipeline.store.pipeline_store import PipelineStore
from sales_pipeline.transforms.contacts import normalize_contacts
from sales_pipeline_tests.integration.conftest import (
    Clients,
    SandboxControl,
    Sent,
    Wiretap,
    transport_config,
)

FIRMOGRAPHICS = "/explorium/v1/businesses/firmographics/bulk_enrich"
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def contacts(sandbox: SandboxControl) -> pd.DataFrame:
    """The sandbox world's contacts, normalized as ``hubspot_contacts`` hands them on."""
    world = sandbox.handle.sandbox.vendors["explorium"].context.world
    records = [read_contact({"id": str(c.id), "properties": c.properties}) for c in world.contacts]
    return normalize_contacts(records)[0]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[PipelineStore]:
    with PipelineStore(f"sqlite:///{tmp_path / 'store.sqlite'}") as opened:
        yield opened


def _explorium(clients: Clients, http: Wiretap | None = None) -> ExploriumClient:
    """A client running four chunks side by side."""
    config = dataclasses.replace(transport_config(), concurrency=4)
    return clients.explorium(transport_config=config, http=http)


def _firmographics_bought(captured: list[Sent]) -> Counter[str]:
    """How often each business id was sent to be enriched."""
    return Counter(
        business_id
        for request in captured
        if request.path == FIRMOGRAPHICS
        for business_id in json.loads(request.body or b"{}")["business_ids"]
    )


def test_each_business_is_bought_once_across_concurrent_chunks_and_runs(
    clients: Clients,
    contacts: pd.DataFrame,
    store: PipelineStore,
    wiretap: Wiretap,
) -> None:
    client = _explorium(clients, wiretap)

    first = enrich_new_contacts(client, contacts.iloc[:200], store, NOW, chunk_size=20)
    bought_first = _firmographics_bought(wiretap.sent)
    second = enrich_new_contacts(client, contacts.iloc[200:300], store, NOW, chunk_size=20)

    assert set(_firmographics_bought(wiretap.sent).values()) == {1}
    businesses = set(first.records["business_id"].dropna())
    assert first.purchases["firmographics"] == len(bought_first) == len(businesses)
    assert first.cache_hits["firmographics"] > 0
    later = set(second.records["business_id"].dropna())
    assert later & businesses
    assert second.cache_hits["firmographics"] >= len(later & businesses)
    assert second.purchases["firmographics"] == len(later - businesses)


def test_a_later_run_reads_prospects_and_businesses_from_the_store_and_buys_nothing(
    clients: Clients, sandbox: SandboxControl, contacts: pd.DataFrame, store: PipelineStore
) -> None:
    day = contacts.iloc[:100]
    enrich_new_contacts(_explorium(clients), day, store, NOW, chunk_size=25)
    spent = sandbox.stats("explorium")["credits_used"]

    again = enrich_new_contacts(_explorium(clients), day, store, NOW, chunk_size=25)

    assert sandbox.stats("explorium")["credits_used"] == spent
    assert again.credits.total == 0
    assert sum(again.purchases.values()) == 0
    assert len(again.records) == len(day)


def test_the_credits_counted_are_those_explorium_charged(
    clients: Clients, sandbox: SandboxControl, contacts: pd.DataFrame, store: PipelineStore
) -> None:
    outcome = enrich_new_contacts(_explorium(clients), contacts.iloc[:150], store, NOW)

    charged = sandbox.stats("explorium")["credits_used"]
    assert charged > 0
    assert outcome.credits.reported == charged
    assert (outcome.credits.estimated, outcome.credits.unreported_calls) == (0.0, 0)


def test_out_of_credits_defers_every_contact_not_enriched_with_the_reason(
    clients: Clients, sandbox: SandboxControl, contacts: pd.DataFrame, store: PipelineStore
) -> None:
    sandbox.set_limits(explorium={"credits": 60})
    day = contacts.iloc[:200]

    outcome = enrich_new_contacts(_explorium(clients), day, store, NOW, chunk_size=20)

    assert outcome.deferred
    assert outcome.deferred_reason is not None
    assert outcome.deferred_reason.startswith("QuotaExhausted")
    assert set(outcome.deferred).isdisjoint(outcome.records["email"])
    assert set(outcome.deferred) | set(outcome.records["email"]) == set(day["email"])
    cached = store.get_enrichments(day["email"], NOW)
    assert set(cached) == set(outcome.records["email"])


def test_a_contact_explorium_refuses_is_rejected_alone(
    clients: Clients, contacts: pd.DataFrame, store: PipelineStore
) -> None:
    day = contacts.iloc[:40].copy()
    refused = str(day["email"].iloc[13])
    day.loc[day.index[13], ["first_name", "company"]] = ["Ana\x00", "Acme"]

    outcome = enrich_new_contacts(_explorium(clients), day, store, NOW, chunk_size=20)

    assert list(outcome.rejected) == [refused]
    assert set(outcome.records["email"]) == set(day["email"]) - {refused}
    assert not outcome.deferred


def test_a_pass_that_forgets_entities_reads_them_back_and_buys_each_once(
    clients: Clients,
    contacts: pd.DataFrame,
    tmp_path: Path,
    wiretap: Wiretap,
) -> None:
    day = contacts.iloc[:200]
    with PipelineStore(f"sqlite:///{tmp_path / 'roomy.sqlite'}") as roomy:
        expected = enrich_new_contacts(_explorium(clients), day, roomy, NOW, chunk_size=20)
    tight = PassMemory(entities_kept=2, records_batch=30)
    with PipelineStore(f"sqlite:///{tmp_path / 'tight.sqlite'}") as store:
        forgetful = enrich_new_contacts(
            _explorium(clients, wiretap), day, store, NOW, chunk_size=20, memory=tight
        )

    assert set(_firmographics_bought(wiretap.sent).values()) == {1}
    assert forgetful.purchases == expected.purchases
    by_email = ["email"]
    pd.testing.assert_frame_equal(
        forgetful.records.sort_values(by_email).reset_index(drop=True),
        expected.records.sort_values(by_email).reset_index(drop=True),
    )
