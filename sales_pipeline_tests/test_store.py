"""The durable store, against SQLite (a temp file) and PostgreSQL (a throwaway database)."""

import multiprocessing
import os
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from sales_pipeline.clients import OAuthTokens, Secret
from sales_pipeline.domain.outcomes import MatchStatus, PushOutcome, SuppressionSource
from sales_pipeline.domain.records import CachedEnrichment, QuarantineRecord, Suppression
from sales_pipeline.domain.retry import RetrySchedule
from sales_pipeline.store.engine import create_store_engine
from sales_pipeline.store.ledger import PushClaim, PushLedger, PushSettlement
from sales_pipeline.store.pipeline_store import PipelineStore
from sales_pipeline.store.tables import (
    MIGRATIONS,
    Migration,
    apply_migrations,
    metadata,
    schema_version,
)
from sales_pipeline.store.tokens import StoreTokenStore

POSTGRES_ADMIN_URL = os.environ.get(
    "SALES_PIPELINE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
NOW = datetime(2025, 7, 7, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """A database created for this test session and dropped after it."""
    admin = create_store_engine(POSTGRES_ADMIN_URL).execution_options(isolation_level="AUTOCOMMIT")
    name = f"sp_test_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield (
            sa.make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
        )
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database: a SQLite file, or a fresh schema of the session's PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'state' / 'store.db'}"
        return
    database: str = request.getfixturevalue("postgres_database")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    engine = create_store_engine(database)
    with engine.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield (
            sa.make_url(database)
            .update_query_dict({"options": f"-csearch_path={schema}"})
            .render_as_string(hide_password=False)
        )
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()


@pytest.fixture
def store(database_url: str) -> Iterator[PipelineStore]:
    """A migrated store on an empty database."""
    with PipelineStore(database_url) as opened:
        yield opened


@pytest.fixture
def ledger(store: PipelineStore) -> PushLedger:
    """The store's push ledger; deferred pushes are due again at once."""
    return PushLedger(store, schedule=RetrySchedule(first_delay=timedelta(0)))


def _recorded_versions(store: PipelineStore) -> list[int]:
    with store.engine.begin() as conn:
        return list(conn.scalars(sa.select(schema_version.c.version).order_by("version")))


def _open_store_when_released(url: str, barrier: threading.Barrier) -> None:
    """Child process: wait for the others, then open (and so migrate) the store."""
    barrier.wait(timeout=60)
    PipelineStore(url).close()


# Schema and migrations -------------------------------------------------------------------------


def test_new_database_gets_every_table_and_the_latest_version(store: PipelineStore) -> None:
    tables = set(sa.inspect(store.engine).get_table_names())
    assert {t.name for t in metadata.sorted_tables} <= tables
    assert _recorded_versions(store) == [m.version for m in MIGRATIONS]
    assert store.check_health() == MIGRATIONS[-1].version


def test_migrating_again_changes_nothing(store: PipelineStore) -> None:
    store.set_cursor("activities", "42")
    assert store.migrate() == MIGRATIONS[-1].version
    assert _recorded_versions(store) == [m.version for m in MIGRATIONS]
    assert store.get_cursor("activities") == "42"


def test_later_steps_run_once_in_version_order(store: PipelineStore) -> None:
    ran: list[int] = []

    def step(version: int) -> Migration:
        def upgrade(conn: sa.Connection) -> None:
            ran.append(version)
            conn.execute(sa.text(f"CREATE TABLE extra_{version} (id INTEGER PRIMARY KEY)"))

        return Migration(version, f"extra table {version}", upgrade)

    latest = MIGRATIONS[-1].version
    later, last = latest + 1, latest + 2
    steps = [*MIGRATIONS, step(last), step(later)]
    assert apply_migrations(store.engine, steps) == last
    assert apply_migrations(store.engine, steps) == last
    assert ran == [later, last]
    assert _recorded_versions(store) == [*(m.version for m in MIGRATIONS), later, last]
    tables = set(sa.inspect(store.engine).get_table_names())
    assert {f"extra_{later}", f"extra_{last}"} <= tables


def test_a_failing_step_leaves_no_trace(store: PipelineStore) -> None:
    def broken(conn: sa.Connection) -> None:
        conn.execute(sa.text("CREATE TABLE half_done (id INTEGER PRIMARY KEY)"))
        raise RuntimeError("step failed half way")

    latest = MIGRATIONS[-1].version
    with pytest.raises(RuntimeError, match="half way"):
        apply_migrations(store.engine, [*MIGRATIONS, Migration(latest + 1, "broken", broken)])
    assert _recorded_versions(store) == [m.version for m in MIGRATIONS]
    assert "half_done" not in sa.inspect(store.engine).get_table_names()


def test_duplicate_migration_versions_are_refused(store: PipelineStore) -> None:
    with pytest.raises(ValueError, match="duplicate"):
        apply_migrations(store.engine, [*MIGRATIONS, MIGRATIONS[0]])


def test_processes_starting_together_apply_each_step_once(database_url: str) -> None:
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(2)
    children = [
        context.Process(target=_open_store_when_released, args=(database_url, barrier))
        for _ in range(2)
    ]
    for child in children:
        child.start()
    for child in children:
        child.join(timeout=120)
    assert [child.exitcode for child in children] == [0, 0]
    with PipelineStore(database_url, migrate=False) as store:
        assert _recorded_versions(store) == [m.version for m in MIGRATIONS]


def test_health_check_fails_before_the_schema_exists(database_url: str) -> None:
    with PipelineStore(database_url, migrate=False) as store, pytest.raises(sa.exc.DBAPIError):
        store.check_health()


def test_unsupported_database_url_is_refused() -> None:
    with pytest.raises(ValueError, match="sqlite or postgresql"):
        PipelineStore("mysql://user@localhost/db")


def test_repr_hides_the_password() -> None:
    store = PipelineStore("postgresql://app:s3cret@db.invalid/pipeline", migrate=False)
    assert "s3cret" not in repr(store)
    assert "postgresql+psycopg2" in repr(store)


def test_naive_datetimes_are_refused(ledger: PushLedger) -> None:
    with pytest.raises(sa.exc.StatementError, match="naive datetime"):
        ledger.record_push_intent("cam_1", "a@acme.com", "h1", "run-1", now=datetime(2025, 1, 1))


# Push ledger -----------------------------------------------------------------------------------


def test_first_claim_wins_and_a_second_run_is_refused(ledger: PushLedger) -> None:
    assert ledger.record_push_intent("cam_1", "Ana@Acme.com", "h1", "run-1", now=NOW)
    assert not ledger.record_push_intent("cam_1", "ana@acme.com ", "h1", "run-2", now=NOW)
    push = ledger.get_push("cam_1", "ANA@ACME.COM")
    assert push is not None
    assert (push.email, push.outcome, push.run_id, push.attempts) == (
        "ana@acme.com",
        PushOutcome.PENDING,
        "run-1",
        1,
    )
    assert push.claimed_at == NOW


def test_the_same_email_may_be_claimed_for_another_campaign(ledger: PushLedger) -> None:
    assert ledger.record_push_intent("cam_1", "ana@acme.com", "h1", "run-1")
    assert ledger.record_push_intent("cam_2", "ana@acme.com", "h1", "run-1")


def test_the_claiming_run_may_claim_again(ledger: PushLedger) -> None:
    assert ledger.record_push_intent("cam_1", "ana@acme.com", "h1", "run-1", now=NOW)
    assert ledger.record_push_intent("cam_1", "ana@acme.com", "h2", "run-1", now=NOW)
    push = ledger.get_push("cam_1", "ana@acme.com")
    assert push is not None
    assert (push.attempts, push.payload_hash) == (2, "h2")


@pytest.mark.parametrize(
    "outcome", [PushOutcome.ADDED, PushOutcome.ALREADY_PRESENT, PushOutcome.REJECTED]
)
def test_a_settled_push_is_never_claimed_again(outcome: PushOutcome, ledger: PushLedger) -> None:
    ledger.record_push_intent("cam_1", "ana@acme.com", "h1", "run-1", now=NOW)
    ledger.record_push_outcome("cam_1", "ana@acme.com", outcome, "why", "lea_1", now=NOW)
    later = NOW + timedelta(days=1)
    assert not ledger.record_push_intent("cam_1", "ana@acme.com", "h1", "run-1", now=later)
    assert not ledger.record_push_intent("cam_1", "ana@acme.com", "h1", "run-2", now=later)
    push = ledger.get_push("cam_1", "ana@acme.com")
    assert push is not None
    assert (push.outcome, push.reason, push.lemlist_lead_id, push.completed_at) == (
        outcome,
        "why",
        "lea_1",
        NOW,
    )


def test_a_deferred_push_is_claimed_by_the_next_run(ledger: PushLedger) -> None:
    ledger.record_push_intent("cam_1", "ana@acme.com", "h1", "run-1", now=NOW)
    ledger.record_push_outcome(
        "cam_1", "ana@acme.com", PushOutcome.DEFERRED, "lemlist down", now=NOW
    )
    assert ledger.record_push_intent("cam_1", "ana@acme.com", "h2", "run-2", now=NOW)
    push = ledger.get_push("cam_1", "ana@acme.com")
    assert push is not None
    assert (push.outcome, push.run_id, push.attempts, push.completed_at) == (
        PushOutcome.PENDING,
        "run-2",
        2,
        None,
    )


def test_a_pending_push_is_taken_over_once_its_lease_lapses(
    database_url: str,
) -> None:
    with PipelineStore(database_url) as store:
        ledger = PushLedger(store, lease=timedelta(minutes=5))
        ledger.record_push_intent("cam_1", "ana@acme.com", "h1", "run-1", now=NOW)
        soon = NOW + timedelta(minutes=4)
        assert not ledger.record_push_intent("cam_1", "ana@acme.com", "h1", "run-2", now=soon)
        late = NOW + timedelta(minutes=6)
        assert ledger.record_push_intent("cam_1", "ana@acme.com", "h1", "run-2", now=late)
        push = ledger.get_push("cam_1", "ana@acme.com")
        assert push is not None
        assert (push.run_id, push.claimed_at) == ("run-2", late)


def test_a_pending_push_of_a_run_known_dead_is_taken_over_at_once(ledger: PushLedger) -> None:
    ledger.record_push_intent("cam_1", "ana@acme.com", "h1", "run-1", now=NOW)
    assert not ledger.record_push_intent(
        "cam_1", "ana@acme.com", "h1", "run-2", dead_run_ids={"run-9"}, now=NOW
    )
    assert ledger.record_push_intent(
        "cam_1", "ana@acme.com", "h1", "run-2", dead_run_ids={"run-1"}, now=NOW
    )
    push = ledger.get_push("cam_1", "ana@acme.com")
    assert push is not None
    assert push.run_id == "run-2"


def test_settled_pushes_name_each_settled_email_and_prefer_its_campaign(
    ledger: PushLedger,
) -> None:
    ledger.record_push_intent("cam_1", "ana@acme.com", "h1", "run-1", now=NOW)
    ledger.record_push_outcome("cam_1", "ana@acme.com", PushOutcome.ADDED, lemlist_lead_id="lea_1")
    ledger.record_push_intent("cam_2", "ana@acme.com", "h1", "run-1", now=NOW)
    ledger.record_push_outcome("cam_2", "ana@acme.com", PushOutcome.REJECTED, "in another")
    ledger.record_push_intent("cam_2", "bo@acme.com", "h2", "run-1", now=NOW)
    ledger.record_push_outcome("cam_2", "bo@acme.com", PushOutcome.REJECTED, "Invalid email")
    ledger.record_push_intent("cam_2", "cy@acme.com", "h3", "run-1", now=NOW)
    settled = ledger.settled_pushes(["ANA@acme.com", "bo@acme.com", "cy@acme.com", "dd@acme.com"])
    assert sorted(settled) == ["ana@acme.com", "bo@acme.com"]
    assert (settled["ana@acme.com"].campaign_id, settled["ana@acme.com"].outcome) == (
        "cam_1",
        PushOutcome.ADDED,
    )
    assert (settled["bo@acme.com"].outcome, settled["bo@acme.com"].reason) == (
        PushOutcome.REJECTED,
        "Invalid email",
    )


def test_two_runs_racing_for_the_same_push_get_one_claim(database_url: str) -> None:
    stores = [PipelineStore(database_url) for _ in range(2)]
    ledgers = [PushLedger(opened) for opened in stores]
    barrier = threading.Barrier(8)
    claims: list[bool] = []

    def claim(worker: int) -> None:
        barrier.wait(timeout=30)
        won = ledgers[worker % 2].record_push_intent("cam_1", "ana@acme.com", "h", f"run-{worker}")
        claims.append(won)

    threads = [threading.Thread(target=claim, args=(worker,)) for worker in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    for opened in stores:
        opened.close()
    assert sorted(claims) == [False] * 7 + [True]


def test_pending_pushes_lists_pending_and_deferred_oldest_first(ledger: PushLedger) -> None:
    for minute, email in enumerate(["a@x.io", "b@x.io", "c@x.io", "d@x.io"]):
        ledger.record_push_intent("cam_1", email, "h", "run-1", now=NOW + timedelta(minutes=minute))
    ledger.record_push_intent("cam_2", "e@x.io", "h", "run-1", now=NOW)
    ledger.record_push_outcome("cam_1", "a@x.io", PushOutcome.ADDED)
    ledger.record_push_outcome("cam_1", "c@x.io", PushOutcome.DEFERRED, now=NOW)
    assert [(p.email, p.outcome) for p in ledger.pending_pushes("cam_1")] == [
        ("b@x.io", PushOutcome.PENDING),
        ("c@x.io", PushOutcome.DEFERRED),
        ("d@x.io", PushOutcome.PENDING),
    ]
    assert len(ledger.pending_pushes()) == 4


def test_pushed_emails_are_those_in_a_campaign(ledger: PushLedger) -> None:
    outcomes = {
        "added@x.io": PushOutcome.ADDED,
        "present@x.io": PushOutcome.ALREADY_PRESENT,
        "rejected@x.io": PushOutcome.REJECTED,
        "deferred@x.io": PushOutcome.DEFERRED,
    }
    for email, outcome in outcomes.items():
        ledger.record_push_intent("cam_1", email, "h", "run-1")
        ledger.record_push_outcome("cam_1", email, outcome)
    ledger.record_push_intent("cam_1", "pending@x.io", "h", "run-1")
    ledger.record_push_intent("cam_2", "other@x.io", "h", "run-1")
    ledger.record_push_outcome("cam_2", "other@x.io", PushOutcome.ADDED)
    assert ledger.pushed_emails("cam_1") == {"added@x.io", "present@x.io"}
    assert ledger.pushed_emails() == {"added@x.io", "present@x.io", "other@x.io"}


def test_an_outcome_without_an_intent_is_an_error(ledger: PushLedger) -> None:
    with pytest.raises(KeyError, match="cam_1"):
        ledger.record_push_outcome("cam_1", "ana@acme.com", PushOutcome.ADDED)


def test_pending_is_not_an_outcome(ledger: PushLedger) -> None:
    ledger.record_push_intent("cam_1", "ana@acme.com", "h1", "run-1")
    with pytest.raises(ValueError, match="pending"):
        ledger.record_push_outcome("cam_1", "ana@acme.com", PushOutcome.PENDING)


def test_unknown_push_is_none(ledger: PushLedger) -> None:
    assert ledger.get_push("cam_1", "nobody@acme.com") is None


# Enrichment cache ------------------------------------------------------------------------------


def _enrichment(email: str, enriched_at: datetime, *, matched: bool = True) -> CachedEnrichment:
    return CachedEnrichment(
        email=email,
        match_status=MatchStatus.MATCHED if matched else MatchStatus.UNMATCHED,
        prospect_id="a" * 40 if matched else None,
        business_id="b" * 32 if matched else None,
        payload={"job_title": "VP Sales", "company_size": "51-200", "phone": None}
        if matched
        else {},
        enriched_at=enriched_at,
    )


def test_cached_enrichment_is_returned_until_the_ttl_passes(database_url: str) -> None:
    with PipelineStore(database_url, enrichment_ttl=timedelta(days=10)) as store:
        store.put_enrichments([_enrichment("Ana@Acme.com", NOW)])
        found = store.get_enrichments(["ANA@acme.com", "other@acme.com"], NOW + timedelta(days=9))
        assert list(found) == ["ana@acme.com"]
        assert found["ana@acme.com"] == _enrichment("ana@acme.com", NOW)
        assert store.get_enrichments(["ana@acme.com"], NOW + timedelta(days=10)) == {}


def test_default_ttl_is_thirty_days(store: PipelineStore) -> None:
    store.put_enrichments([_enrichment("ana@acme.com", NOW)])
    assert store.get_enrichments(["ana@acme.com"], NOW + timedelta(days=29, hours=23))
    assert not store.get_enrichments(["ana@acme.com"], NOW + timedelta(days=30))


def test_unmatched_answers_are_cached_too(store: PipelineStore) -> None:
    store.put_enrichments([_enrichment("ghost@acme.com", NOW, matched=False)])
    cached = store.get_enrichments(["ghost@acme.com"], NOW)["ghost@acme.com"]
    assert (cached.match_status, cached.prospect_id, cached.payload) == (
        MatchStatus.UNMATCHED,
        None,
        {},
    )


def test_a_new_answer_replaces_the_cached_one(store: PipelineStore) -> None:
    store.put_enrichments([_enrichment("ana@acme.com", NOW, matched=False)])
    later = NOW + timedelta(days=1)
    store.put_enrichments([_enrichment("ana@acme.com", later)])
    cached = store.get_enrichments(["ana@acme.com"], later)["ana@acme.com"]
    assert (cached.match_status, cached.enriched_at) == (MatchStatus.MATCHED, later)


def test_cache_lookups_span_many_emails(store: PipelineStore) -> None:
    emails = [f"person{i}@acme.com" for i in range(1_200)]
    store.put_enrichments(_enrichment(email, NOW) for email in emails)
    assert set(store.get_enrichments(emails, NOW)) == set(emails)


def test_payloads_with_nan_are_refused(store: PipelineStore) -> None:
    record = CachedEnrichment(
        "a@x.io", MatchStatus.MATCHED, "a" * 40, None, {"x": float("nan")}, NOW
    )
    with pytest.raises(sa.exc.StatementError, match="not JSON compliant"):
        store.put_enrichments([record])


def test_timestamps_come_back_in_utc(store: PipelineStore) -> None:
    paris = timezone(timedelta(hours=2))
    store.put_enrichments([_enrichment("ana@acme.com", datetime(2025, 7, 7, 14, 0, tzinfo=paris))])
    cached = store.get_enrichments(["ana@acme.com"], NOW)["ana@acme.com"]
    assert cached.enriched_at == NOW
    assert cached.enriched_at.tzinfo == UTC


# Quarantine ------------------------------------------------------------------------------------


def _quarantined(key: str, field: str, partition: str = "2025-07-07") -> QuarantineRecord:
    return QuarantineRecord("hubspot", key, field, f"{field} missing", "{}", "run-1", partition)


def test_quarantine_is_queried_and_counted_by_partition(store: PipelineStore) -> None:
    store.quarantine(
        [
            _quarantined("101", "email"),
            _quarantined("101", "jobtitle"),
            _quarantined("102", "email"),
            _quarantined("103", "email", partition="2025-07-08"),
        ]
    )
    assert store.count_quarantined("2025-07-07") == 2
    assert store.count_quarantined("2025-07-07", source="lemlist") == 0
    assert [(r.record_key, r.field) for r in store.quarantined("2025-07-07")] == [
        ("101", "email"),
        ("101", "jobtitle"),
        ("102", "email"),
    ]
    assert store.quarantined("2025-07-08") == [_quarantined("103", "email", "2025-07-08")]


def test_quarantining_the_same_field_again_updates_it(store: PipelineStore) -> None:
    store.quarantine([_quarantined("101", "email")])
    store.quarantine([("hubspot", "101", "email", "invalid", "{}", "run-2", "2025-07-07")])
    assert [(r.reason, r.run_id) for r in store.quarantined("2025-07-07")] == [("invalid", "run-2")]


def test_clearing_a_partition_forgets_only_it(store: PipelineStore) -> None:
    store.quarantine([_quarantined("101", "email"), _quarantined("103", "email", "2025-07-08")])
    assert store.clear_quarantine("hubspot", "2025-07-07") == 1
    assert store.count_quarantined("2025-07-07") == 0
    assert store.count_quarantined("2025-07-08") == 1


# Suppression -----------------------------------------------------------------------------------


def _suppress(store: PipelineStore, *entries: tuple[str, SuppressionSource]) -> int:
    return store.add_suppressions(Suppression(value, source, NOW) for value, source in entries)


def test_emails_and_whole_domains_are_suppressed(store: PipelineStore) -> None:
    _suppress(
        store,
        ("Gone@Acme.com", SuppressionSource.LEMLIST_UNSUBSCRIBE),
        ("@Spam.io", SuppressionSource.LEMLIST_UNSUBSCRIBE),
    )
    emails = pd.Series(
        [" gone@acme.com", "stay@acme.com", "anyone@SPAM.io", "a@sub.spam.io", None, "no-at"],
        index=[10, 11, 12, 13, 14, 15],
    )
    mask = store.suppressed_mask(emails)
    assert mask.index.equals(emails.index)
    assert mask.tolist() == [True, False, True, False, False, False]
    assert store.is_suppressed("GONE@acme.com")
    assert not store.is_suppressed("stay@acme.com")


def test_the_source_of_a_suppression_is_reported(store: PipelineStore) -> None:
    _suppress(
        store,
        ("ana@acme.com", SuppressionSource.REPLY),
        ("ana@acme.com", SuppressionSource.LEMLIST_BOUNCE),
        ("@acme.com", SuppressionSource.HUBSPOT_OPTOUT),
    )
    sources = store.suppression_sources(pd.Series(["ana@acme.com", "bob@acme.com", "x@y.io"]))
    assert sources.tolist() == ["lemlist_bounce", "hubspot_optout", None]


def test_adding_a_known_suppression_adds_nothing(store: PipelineStore) -> None:
    entry = ("ana@acme.com", SuppressionSource.LEMLIST_UNSUBSCRIBE)
    assert _suppress(store, entry, ("@acme.com", SuppressionSource.LEMLIST_UNSUBSCRIBE)) == 2
    assert _suppress(store, entry, ("ana@acme.com", SuppressionSource.REPLY)) == 1
    assert store.add_suppressions([]) == 0


@pytest.mark.parametrize("value", ["not-an-email", "a@b@c.com", "ana@", ""])
def test_values_that_are_neither_email_nor_domain_are_refused(
    store: PipelineStore, value: str
) -> None:
    with pytest.raises(ValueError, match="neither an email"):
        _suppress(store, (value, SuppressionSource.MANUAL))


def test_suppression_lookups_span_many_emails(store: PipelineStore) -> None:
    _suppress(store, *((f"p{i}@acme.com", SuppressionSource.REPLY) for i in range(0, 1_200, 2)))
    emails = pd.Series([f"p{i}@acme.com" for i in range(1_200)])
    assert store.suppressed_mask(emails).tolist() == [i % 2 == 0 for i in range(1_200)]


# OAuth tokens and cursors ----------------------------------------------------------------------


def test_oauth_tokens_are_saved_and_replaced(store: PipelineStore) -> None:
    assert store.load_oauth_token("hubspot") is None
    store.save_oauth_token("hubspot", {"access_token": "a1", "refresh_token": "r1"})
    store.save_oauth_token("hubspot", {"access_token": "a2", "refresh_token": "r2"})
    assert store.load_oauth_token("hubspot") == {"access_token": "a2", "refresh_token": "r2"}


def test_cursors_are_saved_and_replaced(store: PipelineStore) -> None:
    assert store.get_cursor("lemlist_activities") is None
    store.set_cursor("lemlist_activities", "2025-07-07T00:00:00Z")
    store.set_cursor("lemlist_activities", "2025-07-08T00:00:00Z")
    assert store.get_cursor("lemlist_activities") == "2025-07-08T00:00:00Z"
    assert store.get_cursor("other") is None


def test_the_token_store_round_trips_tokens_without_revealing_them(store: PipelineStore) -> None:
    tokens_store = StoreTokenStore(store)
    assert tokens_store.get("hubspot:app") is None
    tokens_store.save("hubspot:app", OAuthTokens(Secret("at-1"), Secret("rt-1"), 1800.0))
    tokens_store.save("hubspot:app", OAuthTokens(Secret("at-2"), Secret("rt-2"), 3600.0))
    loaded = tokens_store.get("hubspot:app")
    assert loaded is not None
    assert (loaded.access_token.reveal(), loaded.refresh_token.reveal()) == ("at-2", "rt-2")
    assert loaded.expires_at == 3600.0
    assert "rt-2" not in repr(loaded)


def test_claiming_many_pushes_at_once_decides_each_as_one_claim_would(
    store: PipelineStore,
) -> None:
    schedule = RetrySchedule(first_delay=timedelta(minutes=1))
    ledger = PushLedger(store, lease=timedelta(minutes=5), schedule=schedule)
    later = NOW + timedelta(minutes=6)
    ledger.record_push_intent("cam_1", "settled@acme.com", "h", "run-0", now=later)
    ledger.record_push_outcome("cam_1", "settled@acme.com", PushOutcome.ADDED, now=later)
    ledger.record_push_intent("cam_1", "live@acme.com", "h", "run-live", now=later)
    ledger.record_push_intent("cam_1", "lapsed@acme.com", "h", "run-old", now=NOW)
    ledger.record_push_intent("cam_1", "dead@acme.com", "h", "run-dead", now=later)
    ledger.record_push_intent("cam_1", "mine@acme.com", "h", "run-1", now=later)
    ledger.record_push_intent("cam_1", "due@acme.com", "h", "run-0", now=NOW)
    ledger.record_push_outcome("cam_1", "due@acme.com", PushOutcome.DEFERRED, "503", now=NOW)
    ledger.record_push_intent("cam_1", "soon@acme.com", "h", "run-0", now=later)
    ledger.record_push_outcome("cam_1", "soon@acme.com", PushOutcome.DEFERRED, "503", now=later)
    emails = ["new", "settled", "live", "lapsed", "dead", "mine", "due", "soon", "New"]
    claims = [PushClaim("cam_1", f"{name}@acme.com", "h2", {"email": name}) for name in emails]
    claimed = ledger.claim_pushes(claims, "run-1", dead_run_ids={"run-dead"}, now=later)
    assert claimed == {
        ("cam_1", f"{name}@acme.com") for name in ["new", "lapsed", "dead", "mine", "due"]
    }
    taken = ledger.get_push("cam_1", "lapsed@acme.com")
    assert taken is not None
    assert (taken.run_id, taken.attempts, taken.lead) == ("run-1", 2, {"email": "lapsed"})
    live = ledger.get_push("cam_1", "live@acme.com")
    assert live is not None
    assert live.run_id == "run-live"


def test_two_runs_claiming_the_same_pushes_at_once_get_each_push_once(
    database_url: str,
) -> None:
    keys = [f"lead{n}@acme.com" for n in range(120)]
    won: dict[str, set[tuple[str, str]]] = {"run-1": set(), "run-2": set()}

    def claim(run: str, order: list[str]) -> None:
        with PipelineStore(database_url) as store:
            ledger = PushLedger(store)
            for start in range(0, len(order), 30):
                batch = [PushClaim("cam_1", email, "h") for email in order[start : start + 30]]
                won[run] |= ledger.claim_pushes(batch, run, now=NOW)

    PipelineStore(database_url).close()
    racers = [
        threading.Thread(target=claim, args=("run-1", keys)),
        threading.Thread(target=claim, args=("run-2", keys[::-1])),
    ]
    for racer in racers:
        racer.start()
    for racer in racers:
        racer.join()
    assert not won["run-1"] & won["run-2"]
    assert won["run-1"] | won["run-2"] == {("cam_1", email) for email in keys}


def test_outcomes_of_many_pushes_are_recorded_together_with_the_retry_schedule(
    store: PipelineStore,
) -> None:
    ledger = PushLedger(store, schedule=RetrySchedule(first_delay=timedelta(0), max_attempts=2))
    ledger.claim_pushes([PushClaim("cam_1", e, "h") for e in ["a@x.io", "b@x.io"]], "r", now=NOW)
    ledger.record_push_outcome("cam_1", "b@x.io", PushOutcome.DEFERRED, "503", now=NOW)
    ledger.record_push_intent("cam_1", "b@x.io", "h", "r", now=NOW)
    recorded = ledger.record_push_outcomes(
        [
            PushSettlement("cam_1", "A@x.io", PushOutcome.ADDED, None, "lea_1"),
            PushSettlement("cam_1", "b@x.io", PushOutcome.DEFERRED, "503"),
        ],
        now=NOW,
    )
    assert recorded == [PushOutcome.ADDED, PushOutcome.GIVEN_UP]
    added = ledger.get_push("cam_1", "a@x.io")
    assert added is not None
    assert (added.outcome, added.lemlist_lead_id, added.lease_expires_at) == (
        PushOutcome.ADDED,
        "lea_1",
        None,
    )
    with pytest.raises(KeyError):
        ledger.record_push_outcomes(
            [
                PushSettlement("cam_1", "a@x.io", PushOutcome.REJECTED, "late"),
                PushSettlement("cam_1", "never@x.io", PushOutcome.ADDED),
            ],
            now=NOW,
        )
    unchanged = ledger.get_push("cam_1", "a@x.io")
    assert unchanged is not None
    assert unchanged.outcome is PushOutcome.ADDED


def test_many_emails_are_checked_for_suppression_as_one_email_is(store: PipelineStore) -> None:
    store.add_suppressions(
        [
            Suppression("Bo@Acme.com", SuppressionSource.LEMLIST_UNSUBSCRIBE, NOW),
            Suppression("@bounce.io", SuppressionSource.LEMLIST_BOUNCE, NOW),
        ]
    )
    emails = [" bo@acme.com ", "ana@acme.com", "Cy@Bounce.io", "cy@sub.bounce.io", "no-at-sign"]
    assert store.suppressed_emails(emails) == {"bo@acme.com", "cy@bounce.io"}
    assert [store.is_suppressed(email) for email in emails] == [True, False, True, False, False]


def test_sends_marked_at_once_share_transactions_and_each_is_durable_when_marked(
    database_url: str,
) -> None:
    emails = [f"lead{n}@acme.com" for n in range(24)]
    commits: list[int] = []
    with PipelineStore(database_url) as store:
        ledger = PushLedger(store)
        ledger.claim_pushes([PushClaim("cam_1", e, "h") for e in emails], "run-1", now=NOW)
        sa.event.listen(store.engine, "commit", lambda _conn: commits.append(1))
        barrier = threading.Barrier(len(emails))
        first: dict[str, bool] = {}

        def mark(email: str) -> None:
            barrier.wait(timeout=30)
            first[email] = ledger.mark_sent("cam_1", email.upper())

        threads = [threading.Thread(target=mark, args=(email,)) for email in emails]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        again = ledger.mark_sent("cam_1", emails[0])
    assert first == dict.fromkeys(emails, False)
    assert again is True
    assert len(commits) < len(emails) + 1
    with PipelineStore(database_url) as reopened:
        marked = PushLedger(reopened).get_pushes(("cam_1", email) for email in emails)
    assert all(record.sent for record in marked.values())
    assert len(marked) == len(emails)


def test_reads_neither_wait_for_nor_hold_up_a_writer(store: PipelineStore) -> None:
    ledger = PushLedger(store)
    ledger.record_push_intent("cam_1", "ana@acme.com", "h", "run-1", now=NOW)
    writing = threading.Event()
    read_done = threading.Event()

    def write_while_reading() -> None:
        with store.engine.begin() as conn:
            conn.execute(sa.text("UPDATE push_ledger SET reason = 'held'"))
            writing.set()
            assert read_done.wait(timeout=60)

    writer = threading.Thread(target=write_while_reading)
    writer.start()
    assert writing.wait(timeout=30)
    seen = ledger.get_push("cam_1", "ana@acme.com")
    read_done.set()
    writer.join(timeout=60)
    assert seen is not None
    assert seen.reason is None


def test_a_store_of_version_7_gains_the_ledger_email_index_and_keeps_its_pushes(
    database_url: str,
) -> None:
    with PipelineStore(database_url, migrate=False) as old:
        apply_migrations(old.engine, [m for m in MIGRATIONS if m.version <= 7])
        with old.engine.begin() as conn:
            conn.execute(sa.text("DROP INDEX ix_push_ledger_email"))
        PushLedger(old).record_push_intent("cam_1", "ana@acme.com", "h", "run-1", now=NOW)

    with PipelineStore(database_url) as store:
        indexes = {index["name"] for index in sa.inspect(store.engine).get_indexes("push_ledger")}
        assert "ix_push_ledger_email" in indexes
        assert store.check_health() == MIGRATIONS[-1].version
        assert PushLedger(store).get_push("cam_1", "ana@acme.com") is not None
