"""The push flow with a fake Lemlist and a SQLite store: exactly once, truthful outcomes,
poison records, systemic stops, owed work and leases."""

import threading
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import pandas as pd
import pytest
import sqlalchemy as sa

from sales_pipeline.clients import (
    AddLeadOutcome,
    AddLeadResult,
    ApiTimeout,
    AuthError,
    LemlistClient,
    LemlistSettings,
    QuotaExhausted,
    RateLimiter,
    Secret,
)
from sales_pipeline.clients.transport import TransportConfig
from sales_pipeline.domain.outcomes import PushOutcome, SuppressionSource
from sales_pipeline.domain.records import Suppression
from sales_pipeline.domain.retry import RetrySchedule
from sales_pipeline.flows import push as push_flow
from sales_pipeline.flows.push import (
    SKIPPED_SETTLED,
    SKIPPED_SUPPRESSED,
    LeadPush,
    PreparedPushes,
    Pusher,
    PushReport,
)
from sales_pipeline.sandbox import SandboxConfig, run_sandbox
from sales_pipeline.store.ledger import PushLedger
from sales_pipeline.store.pipeline_store import PipelineStore
from sales_pipeline_tests.flows.side_by_side import SideBySide

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
LEASE = timedelta(seconds=30)


class FakeLemlist(SideBySide):
    """Lemlist's add-lead call as a dict of campaigns; ``failures`` are raised in turn (an
    exception after recording = the lead arrived, the answer was lost) and ``failing_calls``
    at their call number (counted from 1). With a ``concurrency`` above 1 the calls run on that
    many threads, as the real client runs them."""

    def __init__(self, concurrency: int = 1) -> None:
        super().__init__(concurrency)
        self.failing_calls: dict[int, Exception] = {}
        self.campaigns: dict[str, dict[str, str]] = {}
        self.failures: list[tuple[Exception, bool]] = []
        self.calls = 0
        self.sent: list[str] = []
        """Emails in the order their calls were made."""
        self.answers_lost_inside_call = False
        """The client retried within the call after a lost answer (a drop after processing)."""
        self._lock = threading.Lock()

    def add_lead_to_campaign(
        self, campaign_id: str, lead: Mapping[str, Any], *, deduplicate: bool
    ) -> AddLeadResult:
        with self._lock:
            return self._add(campaign_id, lead)

    def _add(self, campaign_id: str, lead: Mapping[str, Any]) -> AddLeadResult:
        self.calls += 1
        email = str(lead["email"]).lower()
        self.sent.append(email)
        if self.calls in self.failing_calls:
            raise self.failing_calls[self.calls]
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
    lemlist: FakeLemlist,
    store: PipelineStore,
    ledger: PushLedger,
    run: str = "run-1",
    **options: Any,
) -> Pusher:
    return Pusher(
        cast(LemlistClient, lemlist),
        store,
        ledger,
        run,
        clock=lambda: NOW,
        sleep=lambda _: None,
        **options,
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
    prepared = PreparedPushes(frame)
    assert [p.email for p in prepared] == ["ana@acme.com"]
    assert [(r.email, r.result) for r in prepared.rejected] == [("bo@acme.com", "rejected")]


def test_pushes_prepared_slice_by_slice_hold_repeating_values_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(push_flow, "PREPARE_SLICE", 2)
    frame = pd.DataFrame(
        {
            "email": [f"lead{n}@acme.com" for n in range(5)],
            "campaign_id": "cam_1",
            "segment": "smb",
            "company_name": "Acme",
            "industry": "Software Development",
            "icp_score": 0.5,
        }
    ).astype({"email": "str", "campaign_id": "str", "segment": "str", "industry": "str"})

    prepared = PreparedPushes(frame)
    pushes = list(prepared)

    assert prepared.rejected == []
    assert [p.email for p in pushes] == list(frame["email"])
    assert {p.lead["companyName"] for p in pushes} == {"Acme"}
    assert len({id(p.lead["companyName"]) for p in pushes}) == 1
    assert len({id(p.lead["variables"]["industry"]) for p in pushes}) == 1
    assert len({id(p.campaign_id) for p in pushes}) == 1


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


def _leads(count: int, campaign: str = "cam_1") -> list[LeadPush]:
    return [_lead(f"lead{n}@acme{n % 7}.com", campaign) for n in range(count)]


def test_two_runs_sending_side_by_side_add_every_lead_exactly_once(
    store: PipelineStore, ledger: PushLedger
) -> None:
    lemlist = FakeLemlist(concurrency=4)
    leads = _leads(60)
    reports: dict[str, PushReport] = {}

    def run(run_id: str, order: list[LeadPush]) -> None:
        reports[run_id] = _pusher(lemlist, store, ledger, run_id, chunk_size=25).run(order)

    racers = [
        threading.Thread(target=run, args=("run-1", leads)),
        threading.Thread(target=run, args=("run-2", leads[::-1])),
    ]
    for racer in racers:
        racer.start()
    for racer in racers:
        racer.join()
    emails = {lead.email for lead in leads}
    assert sorted(lemlist.sent) == sorted(emails)
    for email in emails:
        results = [
            r.result for report in reports.values() for r in report.results if r.email == email
        ]
        assert sorted(results) == ["added", SKIPPED_SETTLED]
    pushes = ledger.get_pushes(lead.key for lead in leads).values()
    assert {push.outcome for push in pushes} == {PushOutcome.ADDED}


def test_a_suppressed_lead_in_a_chunk_is_the_only_one_skipped(
    store: PipelineStore, ledger: PushLedger
) -> None:
    store.add_suppressions([Suppression("lead3@acme3.com", SuppressionSource.REPLY, NOW)])
    lemlist = FakeLemlist(concurrency=4)
    leads = [*_leads(6)[:3], _lead(" Lead3@ACME3.com "), *_leads(6)[4:]]
    report = _pusher(lemlist, store, ledger).run(leads)
    assert [r.result for r in report.results] == ["added"] * 3 + [SKIPPED_SUPPRESSED] + [
        "added"
    ] * 2
    assert ledger.get_push("cam_1", "lead3@acme3.com") is None
    assert "lead3@acme3.com" not in lemlist.sent
    assert lemlist.calls == 5


def test_a_quota_stop_mid_chunk_sends_nothing_after_it_and_defers_the_rest(
    store: PipelineStore, ledger: PushLedger
) -> None:
    concurrency = 4
    lemlist = FakeLemlist(concurrency)
    lemlist.failing_calls[3] = QuotaExhausted("quota", vendor="lemlist", operation="add")
    leads = _leads(25)
    pusher = _pusher(lemlist, store, ledger, chunk_size=10)
    report = pusher.run(leads)
    assert isinstance(report.stopped_by, QuotaExhausted)
    assert len(lemlist.sent) <= 3 + concurrency - 1, "only calls already in flight may follow"
    assert set(lemlist.sent) <= {lead.email for lead in leads[:10]}
    added = set(lemlist.campaigns.get("cam_1", {}))
    outcomes = _outcomes(report.results)
    assert {e for e, result in outcomes.items() if result == "added"} == added
    assert {e for e, result in outcomes.items() if result == "deferred"} == {
        lead.email for lead in leads
    } - added
    pushes = ledger.get_pushes(lead.key for lead in leads)
    assert {email for (_, email), push in pushes.items() if push.sent} == set(lemlist.sent)
    later = _pusher(lemlist, store, ledger, "run-2").run([])
    assert {r.email for r in later.results if r.result == "added"} == {
        lead.email for lead in leads
    } - added
    assert sorted(lemlist.campaigns["cam_1"]) == sorted(lead.email for lead in leads)


def test_each_chunk_is_looked_up_claimed_and_settled_in_one_transaction_each(
    store: PipelineStore, ledger: PushLedger
) -> None:
    transactions: list[list[str]] = []
    open_transactions: dict[int, list[str]] = {}
    guard = threading.Lock()

    def statement(conn: sa.Connection, cursor: Any, sql: str, *_: Any) -> None:
        with guard:
            open_transactions.setdefault(id(conn), []).append(sql)

    def commit(conn: sa.Connection) -> None:
        with guard:
            transactions.append(open_transactions.pop(id(conn), []))

    marked_when_sent: list[bool] = []

    class MarkCheckingLemlist(FakeLemlist):
        def add_lead_to_campaign(
            self, campaign_id: str, lead: Mapping[str, Any], *, deduplicate: bool
        ) -> AddLeadResult:
            record = ledger.get_push(campaign_id, str(lead["email"]))
            marked_when_sent.append(record is not None and record.sent)
            return super().add_lead_to_campaign(campaign_id, lead, deduplicate=deduplicate)

    sa.event.listen(store.engine, "before_cursor_execute", statement)
    sa.event.listen(store.engine, "commit", commit)
    lemlist = MarkCheckingLemlist(concurrency=4)
    pusher = _pusher(lemlist, store, ledger, chunk_size=10)
    report = pusher.run(_leads(25))
    sa.event.remove(store.engine, "before_cursor_execute", statement)
    sa.event.remove(store.engine, "commit", commit)

    def count(fragment: str) -> int:
        return sum(any(fragment in sql for sql in sqls) for sqls in transactions)

    assert [r.result for r in report.results] == ["added"] * 25
    assert count("FROM suppression") == 3
    assert count("INSERT INTO push_ledger") == 3
    assert count("SET outcome=?, reason=?, lemlist_lead_id=?") == 3
    assert marked_when_sent == [True] * 25, "each lead is marked sent before its own request"
    assert count("SET sent=?") <= 25, "marks made at the same time share a transaction"


def test_pushes_are_drawn_a_chunk_at_a_time_never_held_for_the_whole_day(
    store: PipelineStore, ledger: PushLedger
) -> None:
    drawn_at_send: list[int] = []
    drawn = 0

    def day() -> Iterator[LeadPush]:
        nonlocal drawn
        for push in _leads(25):
            drawn += 1
            yield push

    class CountingLemlist(FakeLemlist):
        def add_lead_to_campaign(
            self, campaign_id: str, lead: Mapping[str, Any], *, deduplicate: bool
        ) -> AddLeadResult:
            drawn_at_send.append(drawn)
            return super().add_lead_to_campaign(campaign_id, lead, deduplicate=deduplicate)

    report = _pusher(CountingLemlist(), store, ledger, chunk_size=10).run(day())

    assert [r.result for r in report.results] == ["added"] * 25
    assert drawn_at_send == [10] * 10 + [20] * 10 + [25] * 5


def test_leads_sent_side_by_side_through_the_sandbox_are_added_exactly_once(
    store: PipelineStore, ledger: PushLedger
) -> None:
    with run_sandbox(SandboxConfig(contacts=50, rate_scale=100)) as sandbox:
        client = LemlistClient(
            sandbox.lemlist_url,
            api_key=Secret(sandbox.credentials.lemlist_key),
            settings=LemlistSettings(requests_per_window=2000),
            transport_config=TransportConfig(concurrency=8),
            limiter=RateLimiter("memory://"),
        )
        with client:
            campaign = client.list_campaigns()[0].id
            leads = _leads(120, campaign)
            first = Pusher(client, store, ledger, "run-1", clock=lambda: NOW).run(leads)
            again = Pusher(client, store, ledger, "run-2", clock=lambda: NOW).run(leads)
        added = sandbox.sandbox.stats()["lemlist"]["leads_added"]
    assert [r.result for r in first.results] == ["added"] * 120
    assert {r.result for r in again.results} == {SKIPPED_SETTLED}
    assert added == 120


def test_a_failing_step_records_the_answers_already_in_and_leaves_the_rest_to_a_later_run(
    store: PipelineStore, ledger: PushLedger
) -> None:
    lemlist = FakeLemlist()
    lemlist.failing_calls[3] = RuntimeError("the worker died")
    leads = _leads(5)
    with pytest.raises(RuntimeError):
        _pusher(lemlist, store, ledger).run(leads)
    pushes = ledger.get_pushes(lead.key for lead in leads)
    assert [pushes[lead.key].outcome for lead in leads] == [PushOutcome.ADDED] * 2 + [
        PushOutcome.PENDING
    ] * 3
    later = Pusher(
        cast(LemlistClient, lemlist),
        store,
        ledger,
        "run-2",
        clock=lambda: NOW,
        dead_run_ids={"run-1"},
    ).run(leads)
    assert [r.result for r in later.results] == [SKIPPED_SETTLED] * 2 + ["added"] * 3
    assert sorted(lemlist.campaigns["cam_1"]) == sorted(lead.email for lead in leads)
