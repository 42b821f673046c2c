"""The push flow with a fake Lemlist and a SQLite store: exactly once, truthful outcomes,
poison records, systemic stops, owed work and leases."""

import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar, cast

import pandas as pd
import pytest

from sales_pipeline.clients import (
    AddLeadOutcome,
    AddLeadResult,
    ApiTimeout,
    AuthError,
    LemlistClient,
    QuotaExhausted,
)
from sales_pipeline.domain.outcomes import PushOutcome, SuppressionSource
from sales_pipeline.domain.records import Suppression
from sales_pipeline.domain.retry import RetrySchedule
from sales_pipeline.flows.push import (
    SKIPPED_SETTLED,
    SKIPPED_SUPPRESSED,
    LeadPush,
    Pusher,
    prepare_pushes,
)
from sales_pipeline.store.ledger import PushLedger
from sales_pipeline.store.pipeline_store import PipelineStore

T = TypeVar("T")
R = TypeVar("R")

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
LEASE = timedelta(seconds=30)


class FakeLemlist:
    """Lemlist's add-lead call as a dict of campaigns; ``failures`` are raised in turn (an
    exception after recording = the lead arrived, the answer was lost). With a ``concurrency``
    above 1, :meth:`concurrently` runs the calls on that many threads, as the real client does."""

    def __init__(self, concurrency: int = 1) -> None:
        self.campaigns: dict[str, dict[str, str]] = {}
        self.failures: list[tuple[Exception, bool]] = []
        self.calls = 0
        self.sent: list[str] = []
        """Emails in the order their calls were made."""
        self.answers_lost_inside_call = False
        """The client retried within the call after a lost answer (a drop after processing)."""
        self.concurrency = concurrency
        self._lock = threading.Lock()

    def concurrently(self, work: Callable[[T], R], items: Iterable[T]) -> Iterator[R]:
        if self.concurrency <= 1:
            return map(work, items)
        with ThreadPoolExecutor(self.concurrency) as pool:
            return iter(list(pool.map(work, items)))

    def add_lead_to_campaign(
        self, campaign_id: str, lead: Mapping[str, Any], *, deduplicate: bool
    ) -> AddLeadResult:
        with self._lock:
            return self._add(campaign_id, lead)

    def _add(self, campaign_id: str, lead: Mapping[str, Any]) -> AddLeadResult:
        self.calls += 1
        email = str(lead["email"]).lower()
        self.sent.append(email)
        failure, arrived = self.failures.pop(0) if self.failures else (None, False)
        if failure is not None and not arrived:
            raise failure
        leads = self.campaigns.setdefault(campaign_id, {})
        if self.answers_lost_inside_call:
            leads[email] = f"lea_{len(leads) + 1}"
            result = AddLeadResult(AddLeadOutcome.ALREADY_IN_CAMPAIGN, after_lost_attempt=True)
        elif email in leads:
            result = AddLeadResult(AddLeadOutcome.ALREADY_IN_CAMPAIGN)
        else:
            leads[email] = f"lea_{len(leads) + 1}"
            result = AddLeadResult(AddLeadOutcome.ADDED, lead_id=leads[email])
        if failure is not None:
            raise failure
        return result

    def lead_id_in_campaign(self, email: str, campaign_id: str) -> str | None:
        return self.campaigns.get(campaign_id, {}).get(email.lower())


@pytest.fixture
def store(tmp_path: Path) -> Iterator[PipelineStore]:
    with PipelineStore(f"sqlite:///{tmp_path / 'store.sqlite'}") as opened:
        yield opened


@pytest.fixture
def ledger(store: PipelineStore) -> PushLedger:
    return PushLedger(store, lease=LEASE, schedule=RetrySchedule(first_delay=timedelta(0)))


def _pusher(
    lemlist: FakeLemlist, store: PipelineStore, ledger: PushLedger, run: str = "run-1"
) -> Pusher:
    return Pusher(
        cast(LemlistClient, lemlist), store, ledger, run, clock=lambda: NOW, sleep=lambda _: None
    )


def _lead(email: str, campaign: str = "cam_1", **columns: Any) -> LeadPush:
    lead = {"email": email, "firstName": "Ana", "variables": {"segment": "smb"}}
    return LeadPush(email, campaign, {**lead, **columns}, "smb")


def _outcomes(results: list[Any]) -> dict[str, str]:
    return {r.email: r.result for r in results}


def test_each_lead_is_added_once_across_runs(store: PipelineStore, ledger: PushLedger) -> None:
    lemlist = FakeLemlist()
    first = _pusher(lemlist, store, ledger).run([_lead("ana@acme.com"), _lead("bo@acme.com")])
    second = _pusher(lemlist, store, ledger, "run-2").run([_lead("ana@acme.com")])
    assert _outcomes(first.results) == {"ana@acme.com": "added", "bo@acme.com": "added"}
    assert _outcomes(second.results) == {"ana@acme.com": SKIPPED_SETTLED}
    assert lemlist.calls == 2


def test_a_lead_whose_answer_was_lost_is_recorded_as_added_by_us(
    store: PipelineStore, ledger: PushLedger
) -> None:
    lemlist = FakeLemlist()
    lost = ApiTimeout("read timed out", vendor="lemlist", operation="add_lead")
    lemlist.failures.append((lost, True))
    first = _pusher(lemlist, store, ledger).run([_lead("ana@acme.com")])
    assert _outcomes(first.results) == {"ana@acme.com": "deferred"}
    second = _pusher(lemlist, store, ledger, "run-2").run([])
    assert [(r.email, r.result, r.owed) for r in second.results] == [
        ("ana@acme.com", "added", True)
    ]
    push = ledger.get_push("cam_1", "ana@acme.com")
    assert push is not None
    assert (push.outcome, push.lemlist_lead_id) == (PushOutcome.ADDED, "lea_1")


def test_a_lead_whose_answer_was_lost_inside_one_call_is_recorded_as_added(
    store: PipelineStore, ledger: PushLedger
) -> None:
    lemlist = FakeLemlist()
    lemlist.answers_lost_inside_call = True
    report = _pusher(lemlist, store, ledger).run([_lead("ana@acme.com")])
    assert _outcomes(report.results) == {"ana@acme.com": "added"}
    push = ledger.get_push("cam_1", "ana@acme.com")
    assert push is not None
    assert push.lemlist_lead_id == "lea_1"


def test_a_lead_already_in_the_campaign_before_us_is_already_present(
    store: PipelineStore, ledger: PushLedger
) -> None:
    lemlist = FakeLemlist()
    lemlist.campaigns["cam_1"] = {"ana@acme.com": "lea_9"}
    report = _pusher(lemlist, store, ledger).run([_lead("ana@acme.com")])
    assert _outcomes(report.results) == {"ana@acme.com": "already_present"}


def test_a_poison_lead_is_rejected_and_the_others_go_on(
    store: PipelineStore, ledger: PushLedger
) -> None:
    lemlist = FakeLemlist()
    lemlist.failures.append((UnicodeEncodeError("utf-8", "\ud800", 0, 1, "surrogate"), False))
    report = _pusher(lemlist, store, ledger).run([_lead("ana@acme.com"), _lead("bo@acme.com")])
    assert _outcomes(report.results) == {"ana@acme.com": "rejected", "bo@acme.com": "added"}
    reason = next(r.reason for r in report.results if r.email == "ana@acme.com")
    assert reason == "could not encode the record: UnicodeEncodeError"
    assert "\ud800" not in str(reason)


def test_a_lead_that_cannot_be_prepared_is_rejected_with_its_reason() -> None:
    frame = pd.DataFrame(
        [
            {"email": "ana@acme.com", "campaign_id": "cam_1", "segment": "smb", "icp_score": 0.5},
            {"email": "bo@acme.com", "campaign_id": "cam_1", "segment": "smb", "icp_score": [1, 2]},
        ]
    )
    pushes, rejected = prepare_pushes(frame)
    assert [p.email for p in pushes] == ["ana@acme.com"]
    assert [(r.email, r.result) for r in rejected] == [("bo@acme.com", "rejected")]


def test_a_refused_credential_stops_sending_and_defers_the_rest(
    store: PipelineStore, ledger: PushLedger
) -> None:
    lemlist = FakeLemlist()
    lemlist.failures.append((AuthError("401", vendor="lemlist", operation="add_lead"), False))
    report = _pusher(lemlist, store, ledger).run([_lead("ana@acme.com"), _lead("bo@acme.com")])
    assert isinstance(report.stopped_by, AuthError)
    assert _outcomes(report.results) == {"ana@acme.com": "deferred", "bo@acme.com": "deferred"}
    assert lemlist.calls == 1


def test_quota_exhaustion_defers_and_a_later_run_finishes_the_owed_pushes(
    store: PipelineStore, ledger: PushLedger
) -> None:
    lemlist = FakeLemlist()
    lemlist.failures.append((QuotaExhausted("quota", vendor="lemlist", operation="add"), False))
    _pusher(lemlist, store, ledger).run([_lead("ana@acme.com"), _lead("bo@acme.com")])
    later = _pusher(lemlist, store, ledger, "run-2").run([])
    assert {(r.email, r.result, r.owed) for r in later.results} == {
        ("ana@acme.com", "added", True),
        ("bo@acme.com", "added", True),
    }


def test_a_suppressed_lead_is_not_claimed(store: PipelineStore, ledger: PushLedger) -> None:
    store.add_suppressions([Suppression("@acme.com", SuppressionSource.LEMLIST_UNSUBSCRIBE, NOW)])
    lemlist = FakeLemlist()
    report = _pusher(lemlist, store, ledger).run([_lead("ana@acme.com")])
    assert _outcomes(report.results) == {"ana@acme.com": SKIPPED_SUPPRESSED}
    assert ledger.get_push("cam_1", "ana@acme.com") is None
    assert lemlist.calls == 0


def test_a_claim_nobody_renews_is_waited_for_and_taken_over(
    store: PipelineStore, ledger: PushLedger
) -> None:
    ledger.record_push_intent("cam_1", "ana@acme.com", "h", "dead-run", now=NOW)
    clock = {"now": NOW}
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock["now"] += timedelta(seconds=seconds)

    pusher = Pusher(
        cast(LemlistClient, FakeLemlist()),
        store,
        ledger,
        "run-2",
        clock=lambda: clock["now"],
        sleep=sleep,
    )
    report = pusher.run([_lead("ana@acme.com")])
    assert _outcomes(report.results) == {"ana@acme.com": "added"}
    assert slept
    assert sum(slept) <= LEASE.total_seconds() + 1
    assert ledger.pending_pushes() == []
