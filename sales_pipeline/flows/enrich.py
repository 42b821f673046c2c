"""Explorium enrichment of contacts: match, bulk-enrich by entity, combine, in chunks of 50.

Plain Python over the Explorium client, the transforms and the store (no Dagster), so the asset
stays a paragraph and the flow can be exercised from a script. Per chunk of at most 50 contacts,
one call after the other:

1. ``prospects/match`` (1 request, free),
2. ``contacts_information/bulk_enrich`` and ``profiles/bulk_enrich`` of the matched prospects
   not yet known (1 request each),
3. ``businesses/match`` on the company domains not yet known and ``firmographics/bulk_enrich``
   of the matched businesses not yet known (1 request each, when there are any),

so 50 new contacts cost at most 3 requests plus the 2 business calls.

**No credit bought twice.** What Explorium tells about an entity is bought once per time to
live: a prospect's contact information and profile (by ``prospect_id``), the business matched
for a domain and its firmographics (by ``business_id``). An entity is looked up, in order, in
this pass's memory, then in the store's entity cache (what earlier runs and partitions bought),
and only then bought. Each purchase is written to the entity cache as soon as its answer is in
(so a chunk that fails later, or a crash, wastes no credit), and each chunk's combined answers
(by email) once the chunk is combined. The pass's memory of entities is bounded
(:data:`ENTITIES_KEPT` per kind, the least recently used forgotten first): a forgotten entity
is read back from the entity cache, never bought again, so a partition of any size enriches in
bounded memory.

**Chunks run side by side** (``client.concurrency`` at a time, paced by the shared rate
limiter), since at real latencies one chunk at a time leaves most of Explorium's 200
requests/min unused. Two chunks in flight never buy the same entity: a chunk *claims* the
entities no one knows or is buying (under one lock per kind), buys its claims, and only then
waits for the entities another chunk claimed first. Buying never waits, so two chunks waiting
for each other's claims both finish buying first: no deadlock. A chunk whose purchase fails
gives its claims up before it fails, and a chunk waiting for them claims them itself.

When Explorium cannot serve (out of credits, breaker open) the remaining contacts are left for a
later run and the reason is reported: chunks not started by then are deferred without a call,
and chunks in flight defer theirs as their calls fail. A chunk that fails after its retries is
skipped the same way while the others go on. A chunk Explorium refuses as invalid, or that
cannot be encoded, is split until the contact at fault is alone: that contact is rejected with
the reason, and every other contact is enriched.
"""

from __future__ import annotations

import functools
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar

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
from sales_pipeline.clients.explorium import CreditUsage
from sales_pipeline.flows.errors import POISON, STOPPING, describe
from sales_pipeline.store.entity_cache import EntityKind
from sales_pipeline.store.pipeline_store import PipelineStore
from sales_pipeline.transforms.enrichment import (
    business_domain,
    combined_records,
    enrichment_cache_entries,
    enrichment_frame,
    enrichment_row,
)
from sales_pipeline.transforms.explorium import (
    Row,
    company_rows,
    contact_information_from_payload,
    contact_rows,
    firmographics_from_payload,
    profile_from_payload,
    profile_rows,
    record_payload,
)

Record = TypeVar("Record")
Prepared = TypeVar("Prepared")

_REFUSED: tuple[type[Exception], ...] = (InvalidRequest, InputValidationError, *POISON)
"""Errors of one contact's content: isolate it, enrich the rest."""

CHUNK_SIZE = 50
"""Contacts per round of calls: Explorium's bulk maximum."""

ENTITIES_KEPT = 20_000
"""Entities of each kind a pass keeps in memory (a prepared entity is about a kilobyte)."""

RECORDS_BATCH = 20_000
"""Enriched rows gathered as plain rows before they are packed into a frame (a row as a dict
costs several times its frame row)."""


@dataclass(frozen=True)
class PassMemory:
    """What one enrichment pass keeps in memory, whatever the partition's size."""

    entities_kept: int = ENTITIES_KEPT
    """Entities of each kind (see :class:`_Entities`)."""
    records_batch: int = RECORDS_BATCH
    """Enriched rows gathered before they are packed into a frame."""


@dataclass(frozen=True)
class EnrichmentOutcome:
    """What one enrichment pass produced.

    Attributes:
        records: ``EnrichmentRecords`` rows of every contact enriched now, matched or not.
        deferred: Emails left for a later run.
        deferred_reason: Why they were left (``None`` when none were).
        rejected: Contacts Explorium refused, with the reason.
        credits: Credits this pass's calls cost, as Explorium reported them.
        purchases: Entities asked of Explorium, by :class:`EntityKind` value.
        cache_hits: Entities served without asking (from an earlier chunk, run or
            partition), by :class:`EntityKind` value: the purchases the cache avoided.
    """

    records: pd.DataFrame
    deferred: list[str]
    deferred_reason: str | None
    rejected: Mapping[str, str]
    """Email -> why Explorium refused the contact (it is quarantined, the others go on)."""
    credits: CreditUsage = field(default_factory=CreditUsage)
    purchases: Mapping[str, int] = field(default_factory=dict)
    cache_hits: Mapping[str, int] = field(default_factory=dict)


def _text(value: object) -> str | None:
    """A frame's text value, None for nulls and empty text."""
    return value if isinstance(value, str) and value else None


def _found(results: Sequence[EnrichResult[Record]]) -> dict[str, Record | None]:
    """Id -> record of every id asked (None where Explorium knew nothing)."""
    return {result.entity_id: result.data for result in results}


class _Entities(Generic[Record, Prepared]):
    """One kind of entity for one pass: known (from the store or bought), or being bought.

    ``known`` holds each entity as the transforms made it (``prepare``: the text policy runs
    once per entity, not once per contact), at most ``kept`` of them, the least recently used
    forgotten first. See the module docstring for the claims.
    """

    def __init__(
        self,
        kind: EntityKind,
        buy: Callable[[list[str]], Mapping[str, Record | None]],
        to_payload: Callable[[Record], dict[str, Any]],
        from_payload: Callable[[Mapping[str, Any]], Record],
        prepare: Callable[[Mapping[str, Record]], Mapping[str, Prepared]],
        *,
        store: PipelineStore,
        now: datetime,
        kept: int,
    ) -> None:
        self.kind = kind
        self._store = store
        self._now = now
        self._buy = buy
        self._to_payload = to_payload
        self._from_payload = from_payload
        self._prepare = prepare
        self._kept = kept
        self._lock = threading.Lock()
        self._known: OrderedDict[str, Prepared | None] = OrderedDict()
        self._claimed: dict[str, threading.Event] = {}
        self.purchases = 0
        self.cache_hits = 0

    def get(self, keys: Sequence[str]) -> dict[str, Prepared | None]:
        """Each of ``keys`` as known, bought if no one has it (None: Explorium knows
        nothing)."""
        wanted = list(dict.fromkeys(keys))
        found: dict[str, Prepared | None] = {}
        while len(found) < len(wanted):
            mine, theirs = self._claim([key for key in wanted if key not in found], found)
            if mine:
                found.update(self._fetch(mine))
            for claim in theirs:
                claim.wait()
        return found

    def _claim(
        self, keys: list[str], found: dict[str, Prepared | None]
    ) -> tuple[list[str], list[threading.Event]]:
        """Take what is known into ``found``; claim what no one is buying; return the claims
        and the claims of others to wait for (what they buy is known, or in the store, once
        they are released)."""
        mine: list[str] = []
        theirs: list[threading.Event] = []
        with self._lock:
            for key in keys:
                if key in self._known:
                    self._known.move_to_end(key)
                    found[key] = self._known[key]
                    self.cache_hits += 1
                elif key in self._claimed:
                    theirs.append(self._claimed[key])
                else:
                    self._claimed[key] = threading.Event()
                    mine.append(key)
        return mine, theirs

    def _fetch(self, keys: list[str]) -> dict[str, Prepared | None]:
        """Read ``keys`` from the store, buy the rest and write them to the store; the claims
        are released whatever happens, so a failure leaves them for another chunk."""
        fetched: dict[str, Prepared | None] = {}
        try:
            cached = self._store.get_entities(self.kind, keys, self._now)
            missing = [key for key in keys if key not in cached]
            answers = self._buy(missing) if missing else {}
            if missing:
                bought = {
                    key: None if (answer := answers.get(key)) is None else self._to_payload(answer)
                    for key in missing
                }
                self._store.put_enrichments((), {self.kind: bought}, self._now)
            records = {
                **{k: None if p is None else self._from_payload(p) for k, p in cached.items()},
                **{key: answers.get(key) for key in missing},
            }
            present = {key: r for key, r in records.items() if r is not None}
            prepared = self._prepare(present) if present else {}
            fetched = {key: prepared.get(key) for key in keys}
            with self._lock:
                self.cache_hits += len(cached)
                self.purchases += len(missing)
        finally:
            with self._lock:
                self._known.update(fetched)
                while len(self._known) > self._kept:
                    self._known.popitem(last=False)
                for key in keys:
                    self._claimed.pop(key).set()
        return fetched


def _business_id_payload(business_id: str) -> dict[str, Any]:
    """A matched business id as the entity cache keeps it (an unmatched domain is null)."""
    return {"business_id": business_id}


def _business_id_from_payload(payload: Mapping[str, Any]) -> str:
    """:func:`_business_id_payload`, read back."""
    return str(payload["business_id"])


def _as_is(found: Mapping[str, str]) -> Mapping[str, str]:
    """Business ids need no preparing."""
    return found


class _Sources:
    """The four entity kinds of one pass, each bought through ``client``."""

    def __init__(
        self, client: ExploriumClient, store: PipelineStore, now: datetime, kept: int
    ) -> None:
        entities = functools.partial(_Entities, store=store, now=now, kept=kept)
        self.contacts = entities(
            EntityKind.CONTACT_INFORMATION,
            lambda ids: _found(client.enrich_contacts_information(ids)),
            record_payload,
            contact_information_from_payload,
            contact_rows,
        )
        self.profiles = entities(
            EntityKind.PROFILE,
            lambda ids: _found(client.enrich_profiles(ids)),
            record_payload,
            profile_from_payload,
            profile_rows,
        )
        self.businesses: _Entities[str, str] = entities(
            EntityKind.BUSINESS_MATCH,
            lambda domains: dict(
                zip(
                    domains,
                    (
                        r.entity_id
                        for r in client.match_businesses([company_query(d) for d in domains])
                    ),
                    strict=True,
                )
            ),
            _business_id_payload,
            _business_id_from_payload,
            _as_is,
        )
        self.firmographics = entities(
            EntityKind.FIRMOGRAPHICS,
            lambda ids: _found(client.enrich_firmographics(ids)),
            record_payload,
            firmographics_from_payload,
            company_rows,
        )

    def counts(self) -> tuple[dict[str, int], dict[str, int]]:
        """Purchases and cache hits by kind."""
        kinds = (self.contacts, self.profiles, self.businesses, self.firmographics)
        return (
            {k.kind.value: k.purchases for k in kinds},
            {k.kind.value: k.cache_hits for k in kinds},
        )


def enrich_chunk(
    sources: _Sources,
    client: ExploriumClient,
    contacts: pd.DataFrame,
    now: datetime,
) -> list[Row]:
    """``EnrichmentRecords`` rows (validated once per pass, not here) for up to 50 contacts
    (columns of ``NormalizedContacts``)."""
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
    emails = [str(row["email"]) for row in rows]
    prospect_ids = [result.entity_id for result in client.match_prospects(queries)]
    matched = [pid for pid in dict.fromkeys(prospect_ids) if pid is not None]
    reach = sources.contacts.get(matched)
    people = sources.profiles.get(matched)
    domains = [
        business_domain(email, people.get(pid) if pid else None)
        for email, pid in zip(emails, prospect_ids, strict=True)
    ]
    businesses = sources.businesses.get([d for d in dict.fromkeys(domains) if d is not None])
    business_ids = [businesses.get(domain) if domain else None for domain in domains]
    facts = sources.firmographics.get([b for b in dict.fromkeys(business_ids) if b is not None])
    return [
        enrichment_row(
            email,
            pid,
            reach.get(pid) if pid else None,
            people.get(pid) if pid else None,
            domain,
            business_id,
            facts.get(business_id) if business_id else None,
            now,
        )
        for email, pid, domain, business_id in zip(
            emails, prospect_ids, domains, business_ids, strict=True
        )
    ]


def enrich_new_contacts(
    client: ExploriumClient,
    contacts: pd.DataFrame,
    store: PipelineStore,
    now: datetime,
    chunk_size: int = CHUNK_SIZE,
    memory: PassMemory = PassMemory(),
) -> EnrichmentOutcome:
    """Enrich ``contacts`` chunk by chunk, chunks side by side, caching each purchase and each
    chunk; see the module docstring."""
    enrichment = _Enrichment(client, store, now, memory)
    chunks = (
        contacts.iloc[start : start + chunk_size] for start in range(0, len(contacts), chunk_size)
    )
    for part in client.concurrently(enrichment.chunk, chunks):
        enrichment.add(part)
    return enrichment.outcome()


@dataclass
class _Chunk:
    """What one chunk came to: its records (split chunks give several), and its contacts
    deferred or rejected."""

    records: list[Row] = field(default_factory=list)
    deferred: list[str] = field(default_factory=list)
    rejected: dict[str, str] = field(default_factory=dict)
    stopped: str | None = None
    skipped: str | None = None


class _Enrichment:
    """One enrichment pass: what was enriched, deferred and rejected so far.

    Chunks run on the client's worker threads (:meth:`chunk`); their results are gathered in
    the caller's thread (:meth:`add`). The only state the workers share is the entity
    purchases (:class:`_Sources`, locked) and the reason to stop, so that chunks not yet
    started when Explorium stops serving are deferred without a call.
    """

    def __init__(
        self, client: ExploriumClient, store: PipelineStore, now: datetime, memory: PassMemory
    ) -> None:
        self._client = client
        self._store = store
        self._now = now
        self._memory = memory
        self._sources = _Sources(client, store, now, memory.entities_kept)
        self._credits_before = client.credit_usage()
        self._stop_reason: str | None = None
        self._done = _Chunk()
        self._frames: list[pd.DataFrame] = []
        """The records gathered so far, packed ``memory.records_batch`` rows at a time."""

    def chunk(self, contacts: pd.DataFrame) -> _Chunk:
        """Enrich one chunk (on a worker thread)."""
        result = _Chunk()
        self._enrich(contacts, result)
        return result

    def _enrich(self, chunk: pd.DataFrame, result: _Chunk) -> None:
        """Enrich ``chunk`` into ``result``; a chunk Explorium refuses (or that cannot be
        encoded) is split until the refused contact is alone, and that contact is rejected
        with the reason. The chunk's records are cached in one transaction (its purchases were,
        as they came)."""
        if self._stop_reason is not None:
            result.deferred.extend(chunk["email"])
            return
        records: list[Row] = []
        refused: Exception | None = None
        try:
            records = enrich_chunk(self._sources, self._client, chunk, self._now)
        except STOPPING as stop:
            self._stop_reason = self._stop_reason or describe(stop)
            result.stopped = describe(stop)
            result.deferred.extend(chunk["email"])
        except _REFUSED as error:
            refused = error
        except ApiError as failure:
            result.skipped = result.skipped or describe(failure)
            result.deferred.extend(chunk["email"])
        self._store.put_enrichments(enrichment_cache_entries(records), None, self._now)
        result.records.extend(records)
        if refused is None:
            return
        if len(chunk) == 1:
            result.rejected[str(chunk["email"].iloc[0])] = describe(refused)
            return
        middle = len(chunk) // 2
        self._enrich(chunk.iloc[:middle], result)
        self._enrich(chunk.iloc[middle:], result)

    def add(self, part: _Chunk) -> None:
        """Gather one chunk's result (in the caller's thread, in chunk order)."""
        done = self._done
        done.records.extend(part.records)
        if len(done.records) >= self._memory.records_batch:
            self._frames.append(enrichment_frame(done.records))
            done.records = []
        done.deferred.extend(part.deferred)
        done.rejected.update(part.rejected)
        done.stopped = done.stopped or part.stopped
        done.skipped = done.skipped or part.skipped

    def outcome(self) -> EnrichmentOutcome:
        """Everything enriched, deferred and rejected in this pass, checked once."""
        done = self._done
        purchases, cache_hits = self._sources.counts()
        return EnrichmentOutcome(
            combined_records([*self._frames, enrichment_frame(done.records)]),
            done.deferred,
            done.stopped or self._stop_reason or done.skipped,
            done.rejected,
            self._client.credit_usage() - self._credits_before,
            purchases,
            cache_hits,
        )
