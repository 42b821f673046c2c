"""The store owns outstanding work: leased claims, owed pushes, the work backlog, fingerprints.

Every test passes its own clock (``NOW`` and offsets from it), so none depends on the hour.
"""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from sales_pipeline.domain.outcomes import PushOutcome
from sales_pipeline.domain.retry import RetrySchedule
from sales_pipeline.store.backlog import Stage, WorkBacklog, WorkState
from sales_pipeline.store.fingerprints import ContactFingerprints
from sales_pipeline.store.ledger import PushLedger
from sales_pipeline.store.pipeline_store import PipelineStore
from sales_pipeline.store.tables import MIGRATIONS, apply_migrations

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
LEASE = timedelta(seconds=60)
SCHEDULE = RetrySchedule(
    first_delay=timedelta(minutes=10),
    max_delay=timedelta(hours=1),
    max_attempts=3,
    max_age=timedelta(days=2),
)
LEAD = {"email": "ana@acme.com", "firstName": "Ana", "variables": {"segment": "smb"}}


@pytest.fixture
def store(tmp_path: Path) -> Iterator[PipelineStore]:
    with PipelineStore(f"sqlite:///{tmp_path / 'store.sqlite'}") as opened:
        yield opened


@pytest.fixture
def ledger(store: PipelineStore) -> PushLedger:
    return PushLedger(store, lease=LEASE, schedule=SCHEDULE)


@pytest.fixture
def backlog(store: PipelineStore) -> WorkBacklog:
    return WorkBacklog(store, SCHEDULE)


def _claim(ledger: PushLedger, run: str, now: datetime) -> bool:
    return ledger.record_push_intent(
        "cam_1", "ana@acme.com", "h", run, lead=LEAD, segment="smb", now=now
    )


# Leases ----------------------------------------------------------------------------------------


def test_a_claim_is_held_while_its_lease_runs_and_free_once_it_lapses(ledger: PushLedger) -> None:
    assert _claim(ledger, "run-1", NOW)
    assert not _claim(ledger, "run-2", NOW + LEASE - timedelta(seconds=1))
    assert _claim(ledger, "run-2", NOW + LEASE + timedelta(seconds=1))
    push = ledger.get_push("cam_1", "ana@acme.com")
    assert push is not None
    assert (push.run_id, push.attempts, push.lead) == ("run-2", 2, LEAD)


def test_renewing_keeps_a_working_runs_claims(ledger: PushLedger) -> None:
    _claim(ledger, "run-1", NOW)
    assert ledger.renew_leases("run-1", now=NOW + timedelta(seconds=50)) == 1
    assert not _claim(ledger, "run-2", NOW + timedelta(seconds=100))
    assert _claim(ledger, "run-2", NOW + timedelta(seconds=111))


def test_released_claims_are_free_at_once(ledger: PushLedger) -> None:
    _claim(ledger, "run-1", NOW)
    assert ledger.release("run-1", now=NOW) == 1
    assert _claim(ledger, "run-2", NOW)


def test_a_lapsed_claim_is_owed_work_with_the_lead_kept(ledger: PushLedger) -> None:
    _claim(ledger, "run-1", NOW)
    assert ledger.due_pushes(NOW) == []
    [owed] = ledger.due_pushes(NOW + LEASE + timedelta(seconds=1))
    assert (owed.email, owed.outcome, owed.lead, owed.segment) == (
        "ana@acme.com",
        PushOutcome.PENDING,
        LEAD,
        "smb",
    )
    assert ledger.due_pushes(NOW + 2 * LEASE, exclude_run="run-1") == []


def test_held_elsewhere_names_only_other_runs_live_claims(ledger: PushLedger) -> None:
    _claim(ledger, "run-1", NOW)
    keys = [("cam_1", "Ana@Acme.com")]
    assert [h.run_id for h in ledger.held_elsewhere(keys, "run-2", NOW)] == ["run-1"]
    assert ledger.held_elsewhere(keys, "run-1", NOW) == []
    assert ledger.held_elsewhere(keys, "run-2", NOW + 2 * LEASE) == []


def test_mark_sent_says_whether_an_earlier_attempt_was_sent(ledger: PushLedger) -> None:
    _claim(ledger, "run-1", NOW)
    assert ledger.mark_sent("cam_1", "ana@acme.com") is False
    assert _claim(ledger, "run-2", NOW + 2 * LEASE)
    assert ledger.mark_sent("cam_1", "ana@acme.com") is True


def test_marking_a_push_never_claimed_says_not_sent_before_and_records_nothing(
    ledger: PushLedger,
) -> None:
    assert ledger.mark_sent("cam_1", "bo@acme.com") is False
    assert ledger.get_pushes([("cam_1", "bo@acme.com")]) == {}


# Deferred pushes: backoff, then given up -------------------------------------------------------


def test_a_deferred_push_waits_for_its_backoff(ledger: PushLedger) -> None:
    _claim(ledger, "run-1", NOW)
    recorded = ledger.record_push_outcome(
        "cam_1", "ana@acme.com", PushOutcome.DEFERRED, "ServerError: 503", now=NOW
    )
    assert recorded is PushOutcome.DEFERRED
    assert not _claim(ledger, "run-2", NOW + timedelta(minutes=9))
    assert [p.email for p in ledger.due_pushes(NOW + timedelta(minutes=10))] == ["ana@acme.com"]
    assert _claim(ledger, "run-2", NOW + timedelta(minutes=10))


def test_a_push_deferred_too_often_is_given_up_with_the_last_reason(ledger: PushLedger) -> None:
    moment = NOW
    outcome = PushOutcome.DEFERRED
    for attempt in range(1, SCHEDULE.max_attempts + 1):
        assert _claim(ledger, f"run-{attempt}", moment)
        outcome = ledger.record_push_outcome(
            "cam_1", "ana@acme.com", PushOutcome.DEFERRED, "ServerError: 503", now=moment
        )
        moment += SCHEDULE.max_delay
    assert outcome is PushOutcome.GIVEN_UP
    push = ledger.get_push("cam_1", "ana@acme.com")
    assert push is not None
    assert push.reason == "given up after 3 attempts: ServerError: 503"
    assert not _claim(ledger, "run-9", moment + SCHEDULE.max_age)
    assert ledger.settled_pushes(["ana@acme.com"])["ana@acme.com"].outcome is PushOutcome.GIVEN_UP


def test_the_backlog_summary_counts_owed_pushes_by_reason_and_age(ledger: PushLedger) -> None:
    _claim(ledger, "run-1", NOW)
    ledger.record_push_outcome(
        "cam_1", "ana@acme.com", PushOutcome.DEFERRED, "ServerError: 503 from Lemlist", now=NOW
    )
    [row] = ledger.summary(NOW + timedelta(days=1, hours=1))
    assert row == {
        "stage": "push",
        "state": "deferred",
        "reason": "ServerError",
        "age_days": 1,
        "count": 1,
    }


# The work backlog ------------------------------------------------------------------------------


def test_deferred_work_is_due_after_its_backoff_and_counts_attempts(backlog: WorkBacklog) -> None:
    item = ("ana@acme.com", "2026-03-01", {"email": "ana@acme.com"})
    backlog.defer(Stage.ENRICH, [item], "QuotaExhausted: no credits", NOW)
    assert backlog.due(Stage.ENRICH, NOW) == []
    [due] = backlog.due(Stage.ENRICH, NOW + timedelta(minutes=10))
    assert (due.attempts, due.partition, due.payload) == (1, "2026-03-01", item[2])
    backlog.defer(Stage.ENRICH, [item], "QuotaExhausted: no credits", NOW + timedelta(minutes=10))
    [again] = backlog.items(Stage.ENRICH)
    assert again.attempts == 2
    assert again.next_attempt_at == NOW + timedelta(minutes=30)
    assert again.first_seen_at == NOW


def test_work_is_given_up_after_the_schedule_and_can_be_retried_by_hand(
    backlog: WorkBacklog,
) -> None:
    item = ("ana@acme.com", "2026-03-01", {"email": "ana@acme.com"})
    given_up = 0
    for _ in range(SCHEDULE.max_attempts):
        given_up += backlog.defer(Stage.ENRICH, [item], "CircuitOpen: explorium", NOW)
    assert given_up == 1
    [gone] = backlog.items(Stage.ENRICH)
    assert gone.state is WorkState.GIVEN_UP
    assert gone.reason == "given up after 3 attempts: CircuitOpen: explorium"
    assert backlog.due(Stage.ENRICH, NOW + timedelta(days=30)) == []
    assert backlog.retry(Stage.ENRICH, ["ANA@acme.com"], NOW) == 1
    assert [i.key for i in backlog.due(Stage.ENRICH, NOW)] == ["ana@acme.com"]


def test_done_work_is_no_longer_owed_and_enqueued_work_is_due_at_once(
    backlog: WorkBacklog,
) -> None:
    backlog.enqueue(
        Stage.WRITEBACK, [("bo@acme.com", "2026-03-02", {"sp_push_status": "added"})], NOW
    )
    assert [i.key for i in backlog.due(Stage.WRITEBACK, NOW)] == ["bo@acme.com"]
    assert backlog.done(Stage.WRITEBACK, ["bo@acme.com"], NOW) == 1
    assert backlog.due(Stage.WRITEBACK, NOW) == []
    assert backlog.summary(NOW) == []


def test_work_can_be_given_up_by_hand_with_a_reason(backlog: WorkBacklog) -> None:
    backlog.enqueue(Stage.WRITEBACK, [("bo@acme.com", "2026-03-02", {})], NOW)
    assert backlog.give_up(Stage.WRITEBACK, ["bo@acme.com"], "contact deleted", NOW) == 1
    assert backlog.summary(NOW + timedelta(days=3)) == [
        {
            "stage": "writeback",
            "state": "given_up",
            "reason": "contact deleted",
            "age_days": 3,
            "count": 1,
        }
    ]


# Fingerprints ----------------------------------------------------------------------------------


def test_fingerprints_are_kept_per_normalized_email(store: PipelineStore) -> None:
    fingerprints = ContactFingerprints(store)
    fingerprints.record({"Ana@Acme.com": "f1", "bo@acme.com": "f2"}, NOW)
    fingerprints.record({"ana@acme.com": "f3"}, NOW)
    assert fingerprints.get(["ANA@acme.com", "cy@acme.com"]) == {"ana@acme.com": "f3"}


# Migration -------------------------------------------------------------------------------------


OLD_LEDGER = """CREATE TABLE push_ledger (
    campaign_id VARCHAR(64) NOT NULL, email VARCHAR(320) NOT NULL,
    payload_hash VARCHAR(128) NOT NULL, run_id VARCHAR(64) NOT NULL,
    outcome VARCHAR(20) NOT NULL, reason TEXT, lemlist_lead_id VARCHAR(64),
    attempts INTEGER NOT NULL, created_at DATETIME NOT NULL, claimed_at DATETIME NOT NULL,
    completed_at DATETIME, PRIMARY KEY (campaign_id, email))"""
"""The push ledger as migration 1 created it, before leases and owed work."""


def test_a_store_from_before_leases_gains_them_and_keeps_its_pushes(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.sqlite'}"
    with PipelineStore(url, migrate=False) as store:
        apply_migrations(store.engine, [m for m in MIGRATIONS if m.version <= 4])
        with store.engine.begin() as conn:
            conn.exec_driver_sql("DROP TABLE push_ledger")
            conn.exec_driver_sql(OLD_LEDGER)
            conn.exec_driver_sql(
                "INSERT INTO push_ledger (campaign_id, email, payload_hash, run_id, outcome, "
                "attempts, created_at, claimed_at) VALUES ('cam_1', 'ana@acme.com', 'h', "
                "'run-0', 'added', 1, '2026-03-01 00:00:00', '2026-03-01 00:00:00')"
            )
        assert store.migrate() == MIGRATIONS[-1].version
        ledger = PushLedger(store)
        assert ledger.pushed_emails() == {"ana@acme.com"}
        push = ledger.get_push("cam_1", "ana@acme.com")
        assert push is not None
        assert (push.sent, push.lease_expires_at, push.lead) == (False, None, None)
