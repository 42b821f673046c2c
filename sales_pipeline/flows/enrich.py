"""Explorium enrichment of contacts: match, bulk-enrich, combine, in chunks of 50.

Plain Python over the Explorium client, the transforms and the store (no Dagster), so the asset
stays a paragraph and the flow can be exercised from a script. Per chunk of at most 50 contacts:

1. ``prospects/match`` (1 request),
2. ``contacts_information/bulk_enrich`` and ``profiles/bulk_enrich`` of the matched ids
   (1 request each),
3. ``businesses/match`` on the companies' domains and ``firmographics/bulk_enrich`` of the
   matched businesses (1 request each, when there are any),

so 50 new contacts cost at most 3 requests plus the 2 business calls. Each chunk's answers are
cached in the store as soon as they are combined, so a crash later in the run wastes no credits.

When Explorium cannot serve (out of credits, breaker open) the remaining contacts are left for a
later run and the reason is reported; a chunk that fails after its retries is skipped the same
way while the others go on. A chunk Explorium refuses as invalid, or that cannot be encoded, is
split until the contact at fault is alone: that contact is rejected with the reason, and every
other contact is enriched.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

import pandas as pd

from sales_pipeline.clients import (
    ApiError,
    EnrichResult,
    ExploriumClient,
    InputValidationError,
    InvalidRequest,
    company_query,
    person_query,
)
from sales_pipeline.flows.errors import POISON, STOPPING, describe
from sales_pipeline.store.pipeline_store import PipelineStore
from sales_pipeline.transforms.enrichment import (
    business_match_domains,
    combine_enrichment,
    enrichment_cache_entries,
    enrichment_from_cache,
)
from sales_pipeline.transforms.explorium import (
    business_matches,
    company_facts,
    contact_details,
    profiles,
    prospect_matches,
)

Record = TypeVar("Record")

_REFUSED: tuple[type[Exception], ...] = (InvalidRequest, InputValidationError, *POISON)
"""Errors of one contact's content: isolate it, enrich the rest."""

CHUNK_SIZE = 50
"""Contacts per round of calls: Explorium's bulk maximum."""


@dataclass(frozen=True)
class EnrichmentOutcome:
    """What one enrichment pass produced.

    Attributes:
        records: ``EnrichmentRecords`` rows of every contact enriched now, matched or not.
        deferred: Emails left for a later run.
        deferred_reason: Why they were left (``None`` when none were).
        rejected: Contacts Explorium refused, with the reason.
    """

    records: pd.DataFrame
    deferred: list[str]
    deferred_reason: str | None
    rejected: Mapping[str, str]
    """Email -> why Explorium refused the contact (it is quarantined, the others go on)."""


def _text(value: object) -> str | None:
    """A frame's text value, None for nulls and empty text."""
    return value if isinstance(value, str) and value else None


def _found(results: Sequence[EnrichResult[Record]]) -> dict[str, Record]:
    """Id -> record of the ids Explorium knew something about."""
    return {result.entity_id: result.data for result in results if result.data is not None}


def enrich_chunk(client: ExploriumClient, contacts: pd.DataFrame, now: datetime) -> pd.DataFrame:
    """``EnrichmentRecords`` for up to 50 contacts (columns of ``NormalizedContacts``)."""
    rows = contacts.to_dict("records")
    queries = [
        person_query(
            str(row["email"]),
            _text(row.get("first_name")),
            _text(row.get("last_name")),
            _text(row.get("company")),
        )
        for row in rows
    ]
    emails = contacts["email"].tolist()
    people = prospect_matches(emails, client.match_prospects(queries))
    prospect_ids = people["prospect_id"].dropna().unique().tolist()
    details = contact_details(
        _found(client.enrich_contacts_information(prospect_ids) if prospect_ids else [])
    )
    found_profiles = profiles(_found(client.enrich_profiles(prospect_ids) if prospect_ids else []))
    domains = (
        business_match_domains(people, found_profiles)["company_domain"].dropna().unique().tolist()
    )
    companies = business_matches(
        domains, client.match_businesses([company_query(d) for d in domains]) if domains else []
    )
    business_ids = companies["business_id"].dropna().unique().tolist()
    facts = company_facts(_found(client.enrich_firmographics(business_ids) if business_ids else []))
    return combine_enrichment(people, details, found_profiles, companies, facts, now)


def enrich_new_contacts(
    client: ExploriumClient,
    contacts: pd.DataFrame,
    store: PipelineStore,
    now: datetime,
    chunk_size: int = CHUNK_SIZE,
) -> EnrichmentOutcome:
    """Enrich ``contacts`` chunk by chunk, caching each chunk; see the module docstring."""
    enrichment = _Enrichment(client, store, now)
    for start in range(0, len(contacts), chunk_size):
        enrichment.chunk(contacts.iloc[start : start + chunk_size])
    return enrichment.outcome()


class _Enrichment:
    """One enrichment pass: what was enriched, deferred and rejected so far."""

    def __init__(self, client: ExploriumClient, store: PipelineStore, now: datetime) -> None:
        self._client = client
        self._store = store
        self._now = now
        self._parts: list[pd.DataFrame] = []
        self._deferred: list[str] = []
        self._rejected: dict[str, str] = {}
        self._stopped: str | None = None
        self._skipped: str | None = None

    def chunk(self, chunk: pd.DataFrame) -> None:
        """Enrich ``chunk``; a chunk Explorium refuses (or that cannot be encoded) is split
        until the refused contact is alone, and that contact is rejected with the reason."""
        if self._stopped is not None:
            self._deferred.extend(chunk["email"])
            return
        try:
            records = enrich_chunk(self._client, chunk, self._now)
        except STOPPING as stop:
            self._stopped = describe(stop)
            self._deferred.extend(chunk["email"])
        except _REFUSED as refused:
            if len(chunk) == 1:
                self._rejected[str(chunk["email"].iloc[0])] = describe(refused)
                return
            middle = len(chunk) // 2
            self.chunk(chunk.iloc[:middle])
            self.chunk(chunk.iloc[middle:])
        except ApiError as failure:
            self._skipped = self._skipped or describe(failure)
            self._deferred.extend(chunk["email"])
        else:
            self._store.put_enrichments(enrichment_cache_entries(records))
            self._parts.append(records)

    def outcome(self) -> EnrichmentOutcome:
        """Everything enriched, deferred and rejected in this pass."""
        fresh = (
            pd.concat(self._parts, ignore_index=True) if self._parts else enrichment_from_cache(())
        )
        return EnrichmentOutcome(
            fresh, self._deferred, self._stopped or self._skipped, self._rejected
        )
