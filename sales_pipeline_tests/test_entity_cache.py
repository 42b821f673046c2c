"""The store's entity cache (migration 7): Explorium answers by kind and key, reused for the
enrichment cache's time to live, written with the chunk's email entries in one transaction."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from sales_pipeline.domain.outcomes import MatchStatus
from sales_pipeline.domain.records import CachedEnrichment
from sales_pipeline.store.entity_cache import EntityKind
from sales_pipeline.store.pipeline_store import PipelineStore
from sales_pipeline.store.tables import MIGRATIONS, apply_migrations

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
BUSINESS = "b" * 32
PROSPECT = "a" * 40


@pytest.fixture
def store(tmp_path: Path) -> Iterator[PipelineStore]:
    with PipelineStore(
        f"sqlite:///{tmp_path / 'store.sqlite'}", enrichment_ttl=timedelta(days=10)
    ) as opened:
        yield opened


def test_an_entity_is_served_until_the_ttl_passes(store: PipelineStore) -> None:
    store.put_enrichments((), {EntityKind.FIRMOGRAPHICS: {BUSINESS: {"name": "Acme"}}}, NOW)

    later = NOW + timedelta(days=9)
    assert store.get_entities(EntityKind.FIRMOGRAPHICS, [BUSINESS, "c" * 32], later) == {
        BUSINESS: {"name": "Acme"}
    }
    assert store.get_entities(EntityKind.FIRMOGRAPHICS, [BUSINESS], NOW + timedelta(days=10)) == {}


def test_an_entity_explorium_did_not_know_is_cached_as_none(store: PipelineStore) -> None:
    store.put_enrichments((), {EntityKind.BUSINESS_MATCH: {"nobody.io": None}}, NOW)

    assert store.get_entities(EntityKind.BUSINESS_MATCH, ["nobody.io"], NOW) == {"nobody.io": None}


def test_kinds_keep_their_own_entries_for_one_key(store: PipelineStore) -> None:
    store.put_enrichments(
        (),
        {
            EntityKind.CONTACT_INFORMATION: {PROSPECT: {"phone": "+1 555"}},
            EntityKind.PROFILE: {PROSPECT: {"job_title": "CTO"}},
        },
        NOW,
    )

    assert store.get_entities(EntityKind.PROFILE, [PROSPECT], NOW) == {
        PROSPECT: {"job_title": "CTO"}
    }


def test_buying_again_replaces_the_entry_and_restarts_its_ttl(store: PipelineStore) -> None:
    store.put_enrichments((), {EntityKind.FIRMOGRAPHICS: {BUSINESS: {"name": "Old"}}}, NOW)
    again = NOW + timedelta(days=20)
    store.put_enrichments((), {EntityKind.FIRMOGRAPHICS: {BUSINESS: {"name": "New"}}}, again)

    assert store.get_entities(EntityKind.FIRMOGRAPHICS, [BUSINESS], again + timedelta(days=9)) == {
        BUSINESS: {"name": "New"}
    }


def test_entities_and_email_entries_are_written_together(store: PipelineStore) -> None:
    entry = CachedEnrichment("ana@acme.com", MatchStatus.MATCHED, PROSPECT, BUSINESS, {}, NOW)

    store.put_enrichments([entry], {EntityKind.FIRMOGRAPHICS: {BUSINESS: {"name": "Acme"}}}, NOW)

    assert list(store.get_enrichments(["ana@acme.com"], NOW)) == ["ana@acme.com"]
    assert store.get_entities(EntityKind.FIRMOGRAPHICS, [BUSINESS], NOW)


def test_a_store_of_version_6_gains_the_entity_cache_and_keeps_its_entries(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'old.sqlite'}"
    entry = CachedEnrichment("ana@acme.com", MatchStatus.UNMATCHED, None, None, {}, NOW)
    with PipelineStore(url, migrate=False) as old:
        apply_migrations(old.engine, [m for m in MIGRATIONS if m.version <= 6])
        assert "entity_cache" not in sa.inspect(old.engine).get_table_names()
        old.put_enrichments([entry])

    with PipelineStore(url) as store:
        assert store.check_health() == MIGRATIONS[-1].version
        assert list(store.get_enrichments(["ana@acme.com"], NOW)) == ["ana@acme.com"]
        store.put_enrichments((), {EntityKind.PROFILE: {PROSPECT: None}}, NOW)
        assert store.get_entities(EntityKind.PROFILE, [PROSPECT], NOW) == {PROSPECT: None}
