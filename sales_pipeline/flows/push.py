"""Pushing qualified leads into Lemlist campaigns exactly once.

Plain Python over the Lemlist client and the store (no Dagster). Lemlist has no idempotency key
and no bulk add, so exactly-once comes from the store's push ledger
(:mod:`sales_pipeline.store.ledger`):

1. each lead is prepared (its payload built); a lead that cannot be prepared is rejected with
   the reason, and the others go on: one record never fails the step;
2. leads go in chunks (:data:`PUSH_CHUNK`), drawn from the prepared leads only when reached and
   forgotten once recorded (only results are kept), so a day's leads are never all held as
   pushes (:class:`PreparedPushes`). Right before a chunk is sent, the leads that have
   since been suppressed (an unsubscribe or bounce that arrived after qualification) are
   skipped, found by one lookup for the whole chunk;
3. the chunk's pushes are *claimed* in the ledger in one transaction, under a lease this step
   renews while it works; a push another live run holds, or one already settled, is not sent
   again;
4. the claimed leads are sent side by side (up to the client's concurrency, paced by the shared
   rate limiter). Each lead is marked as sent in the ledger, durably, right before its own
   request goes out, so a lead whose request never left is never taken for one whose answer
   was lost. It is added with ``deduplicate=true``; Lemlist's "already in the campaign" and
   "already in another campaign" are outcomes, not errors, which is what makes resending safe.
   When an earlier attempt was sent and its answer lost, "already in the campaign" means this
   pipeline added the lead, and it is recorded so (with the Lemlist id, read back);
5. the chunk's outcomes are recorded in one transaction: added, already present, rejected (with
   Lemlist's, our validator's or the send error's reason), or deferred when Lemlist cannot take
   it now. If the step fails mid-chunk, the outcomes of the leads already answered are recorded
   before the failure propagates; the rest stay claimed and pass to the next run when their
   lease ends.

Besides the leads it is given, the step finishes the pushes the ledger says are owed, whatever
partition they came from: deferred pushes that were due when it began, and claims whose lease
had lapsed (their run died), after the leads it was given. Claims of its own leads that another
run still holds are waited for, up to one lease, then taken over. An authentication failure,
exhausted quota or open breaker stops sending: no request starts after it (those already in
flight finish and are recorded as answered), the rest is deferred and
:attr:`PushReport.stopped_by` says why.

A dry run (:meth:`Pusher.plan`) makes the same decisions from the ledger and the suppression list
as they stand, without claiming, sending or recording anything: each push it returns is exactly
what :meth:`Pusher.run` would send now (campaign, lead, variables), or skip and why.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import threading
import time
from collections import deque
from collections.abc import Callable, Collection, Hashable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pandas as pd

from sales_pipeline.clients import (
    AddLeadOutcome,
    AddLeadResult,
    ApiError,
    InputValidationError,
    InvalidRequest,
    LemlistClient,
)
from sales_pipeline.domain.outcomes import PushOutcome
from sales_pipeline.domain.records import PushRecord, normalize_email
from sales_pipeline.flows.errors import POISON, STOPPING, describe
from sales_pipeline.store.ledger import PushClaim, PushLedger, PushSettlement
from sales_pipeline.store.pipeline_store import PipelineStore

PUSH_CHUNK = 100
"""Leads per chunk: one suppression lookup, one claim and one outcome transaction each. A few
times the concurrency, so the sending stays busy while the store sees few, larger writes."""

SKIPPED_SUPPRESSED = "skipped_suppressed"
"""Result of a lead suppressed between qualification and push (not claimed, nothing sent)."""
SKIPPED_SETTLED = "skipped_settled"
"""Result of a lead whose push was settled earlier, is not yet due, or is held by a live run."""
WOULD_SEND = "would_send"
"""Result of a dry run's lead that a real run would send now."""

_VARIABLE_COLUMNS = {
    "segment": "segment",
    "icpScore": "icp_score",
    "jobLevel": "job_level",
    "department": "job_department",
    "companySize": "company_size",
    "industry": "industry",
    "country": "country",
}
"""Lemlist custom variable -> qualified-lead column (sent as strings, for templates)."""


def lead_payload(lead: Mapping[Hashable, Any]) -> dict[str, Any]:
    """The Lemlist lead for one qualified row: standard fields plus enrichment variables."""
    fields = {
        "email": lead["email"],
        "firstName": lead.get("first_name"),
        "lastName": lead.get("last_name"),
        "companyName": lead.get("company_name"),
        "jobTitle": lead.get("job_title"),
        "linkedinUrl": lead.get("linkedin_url"),
        "companyDomain": lead.get("company_domain"),
    }
    variables = {
        name: f"{value:.2f}" if isinstance(value, float) else str(value)
        for name, column in _VARIABLE_COLUMNS.items()
        if (value := lead.get(column)) is not None and not pd.isna(value)
    }
    payload = {k: v for k, v in fields.items() if isinstance(v, str) and v}
    return {**payload, "variables": variables}


def payload_hash(payload: Mapping[str, Any]) -> str:
    """A stable fingerprint of what was (or will be) sent."""
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


@dataclass(frozen=True)
class LeadPush:
    """One lead to push: where, what, and whether it is work an earlier run owed."""

    email: str
    campaign_id: str
    lead: Mapping[str, Any]
    segment: str | None
    owed: bool = False

    @classmethod
    def from_record(cls, record: PushRecord) -> LeadPush:
        """The owed push a ledger row describes."""
        return cls(record.email, record.campaign_id, record.lead or {}, record.segment, True)

    @property
    def key(self) -> tuple[str, str]:
        """(campaign, normalized email): the push's identity in the ledger."""
        return self.campaign_id, normalize_email(self.email)

    def result(self, result: str, reason: str | None = None) -> PushResult:
        """This push's :class:`PushResult`."""
        return PushResult(self.email, self.campaign_id, result, reason, self.owed)


@dataclass(frozen=True)
class PushResult:
    """What happened to one lead: a :class:`PushOutcome` value or a ``skipped_*`` marker."""

    email: str
    campaign_id: str
    result: str
    reason: str | None = None
    owed: bool = False
    """True for work an earlier run owed (a deferred push, a claim whose run died)."""


@dataclass
class PushReport:
    """Every lead's result, and what stopped the sending early, if anything."""

    results: list[PushResult] = field(default_factory=list)
    stopped_by: ApiError | None = None


PREPARE_SLICE = 5_000
"""Leads read out of the frame as dicts at a time (a row as a dict of every column costs
several times the push built from it)."""

_REPEATING_FIELDS = ("companyName", "jobTitle", "companyDomain")
"""Lead fields whose values repeat down a day's leads, as the variables do."""


class PreparedPushes:
    """The pushes for ``leads`` (``QualifiedLeads`` rows, not excluded), built as they are
    iterated, and a rejected result for each row whose payload cannot be built (a poison record
    stops nothing else).

    The rows are read :data:`PREPARE_SLICE` at a time and a :class:`Pusher` draws the pushes
    chunk by chunk, so a day's leads are never all held as pushes (each holds its payload as a
    dict: at 200,000 leads, 637 MiB above the frame when built at once). The values that repeat
    (campaigns, segments, companies, titles, domains, every variable) are held once: each cell
    read out of an Arrow column is a new Python string.
    """

    def __init__(self, leads: pd.DataFrame) -> None:
        self._leads = leads
        self.rejected: list[PushResult] = []
        """The rows whose payload could not be built, complete once iterated."""

    def __iter__(self) -> Iterator[LeadPush]:
        self.rejected = []
        shared: dict[str, str] = {}
        for start in range(0, len(self._leads), PREPARE_SLICE):
            for row in self._leads.iloc[start : start + PREPARE_SLICE].to_dict("records"):
                push = self._push(row, shared)
                if push is not None:
                    yield push

    def _push(self, row: dict[Hashable, Any], shared: dict[str, str]) -> LeadPush | None:
        """The push of ``row``, or None with its rejection noted."""
        email, campaign = str(row["email"]), str(row["campaign_id"])
        try:
            segment = row.get("segment")
            return LeadPush(
                email,
                shared.setdefault(campaign, campaign),
                _sharing_repeats(lead_payload(row), shared),
                shared.setdefault(segment, segment) if isinstance(segment, str) else None,
            )
        except POISON as error:
            reason = describe(error)
            self.rejected.append(PushResult(email, campaign, PushOutcome.REJECTED.value, reason))
            return None


def _sharing_repeats(payload: dict[str, Any], shared: dict[str, str]) -> dict[str, Any]:
    """``payload`` with its repeating values (:data:`_REPEATING_FIELDS` and the variables)
    replaced by the equal object in ``shared``, added there when new."""
    for name in _REPEATING_FIELDS:
        if name in payload:
            payload[name] = shared.setdefault(payload[name], payload[name])
    variables = payload["variables"]
    for name, value in variables.items():
        variables[name] = shared.setdefault(value, value)
    return payload


@dataclass(frozen=True)
class PlannedPush:
    """A dry run's decision for one lead: the push, and :data:`WOULD_SEND` or a ``skipped_*``
    marker."""

    push: LeadPush
    result: str


def _then_owed(
    pushes: Iterable[LeadPush], owed: dict[tuple[str, str], LeadPush]
) -> Iterator[LeadPush]:
    """``pushes``, then the ``owed`` pushes none of them stood for."""
    for push in pushes:
        owed.pop(push.key, None)
        yield push
    yield from owed.values()


@contextmanager
def renewed_leases(ledger: PushLedger, run_id: str) -> Iterator[None]:
    """Renew ``run_id``'s claims every third of a lease while the block runs; on the way out
    (finished, failed or interrupted) release whatever is still claimed."""
    stop = threading.Event()
    interval = max(ledger.lease.total_seconds() / 3, 0.05)

    def renew() -> None:
        while not stop.wait(interval):
            ledger.renew_leases(run_id)

    renewer = threading.Thread(target=renew, name=f"lease-renewal-{run_id[:8]}", daemon=True)
    renewer.start()
    try:
        yield
    finally:
        stop.set()
        renewer.join()
        ledger.release(run_id)


@dataclass(frozen=True)
class _Answer:
    """What one send came to, before it is recorded."""

    outcome: PushOutcome
    reason: str | None
    lead_id: str | None = None


@dataclass
class _Chunk:
    """Leads pushed together: one suppression lookup, one claim and one outcome transaction."""

    pushes: Sequence[LeadPush]
    suppressed: set[str] = field(default_factory=set)
    claimed: bool = False
    sending: list[LeadPush] = field(default_factory=list)
    """The leads this run claimed, in order (each key once)."""
    answers: list[_Answer] = field(default_factory=list)
    """What the sends came to, in the order of :attr:`sending`."""
    recorded: list[PushOutcome] = field(default_factory=list)
    """The outcomes the ledger recorded for :attr:`answers`."""

    @property
    def answered(self) -> bool:
        """Every claimed lead was sent (or, once sending stopped, deferred) and answered."""
        return self.claimed and len(self.answers) == len(self.sending)

    def results(self) -> list[PushResult]:
        """One result per lead, in order: skipped, or what the ledger recorded."""
        outcomes = {
            push.key: push.result(outcome.value, answer.reason)
            for push, answer, outcome in zip(
                self.sending, self.answers, self.recorded, strict=False
            )
        }
        results = []
        for push in self.pushes:
            if push.key[1] in self.suppressed:
                results.append(push.result(SKIPPED_SUPPRESSED, "suppressed"))
            else:
                results.append(
                    outcomes.pop(push.key) if push.key in outcomes else push.result(SKIPPED_SETTLED)
                )
        return results


class Pusher:
    """Pushes leads for one run; see the module docstring."""

    def __init__(
        self,
        client: LemlistClient,
        store: PipelineStore,
        ledger: PushLedger,
        run_id: str,
        *,
        clock: Callable[[], datetime],
        dead_run_ids: Collection[str] = (),
        sleep: Callable[[float], None] = time.sleep,
        chunk_size: int = PUSH_CHUNK,
    ) -> None:
        """Push through ``client`` for ``run_id``, recording in ``ledger``; ``clock`` is now."""
        self._client = client
        self._store = store
        self._ledger = ledger
        self._run_id = run_id
        self._clock = clock
        self._dead = dead_run_ids
        self._sleep = sleep
        self._chunk_size = chunk_size
        self._stopped: ApiError | None = None
        self._stopping = threading.Lock()

    def run(self, pushes: Iterable[LeadPush]) -> PushReport:
        """Push ``pushes`` (drawn chunk by chunk) and then every owed push that was due when the
        run began and is not among them; wait for claims of ``pushes`` held by other runs until
        their leases lapse (at most one lease), then take them over."""
        owed = {
            (record.campaign_id, record.email): LeadPush.from_record(record)
            for record in self._ledger.due_pushes(self._clock(), exclude_run=self._run_id)
        }
        report = PushReport()
        with renewed_leases(self._ledger, self._run_id):
            results, elsewhere = self._push_all(_then_owed(pushes, owed))
            report.results = self._take_over_held(elsewhere, results)
        report.stopped_by = self._stopped
        return report

    def plan(self, pushes: Sequence[LeadPush]) -> list[PlannedPush]:
        """What :meth:`run` would do with ``pushes`` and the owed pushes that are due, decided
        from the ledger and the suppression list as they stand: nothing is claimed, sent or
        recorded, and the client is not called. A claim another live run holds counts as
        settled (a real run would wait for it)."""
        now = self._clock()
        keys = {push.key for push in pushes}
        due = {
            (record.campaign_id, record.email): record
            for record in self._ledger.due_pushes(now, exclude_run=self._run_id)
        }
        owed = [LeadPush.from_record(record) for key, record in due.items() if key not in keys]
        planned = [*pushes, *owed]
        suppressed = self._store.suppressed_emails(push.email for push in planned)
        known = self._ledger.get_pushes(push.key for push in planned)
        return [
            PlannedPush(
                push,
                SKIPPED_SUPPRESSED
                if push.key[1] in suppressed
                else WOULD_SEND
                if push.key in due or push.key not in known
                else SKIPPED_SETTLED,
            )
            for push in planned
        ]

    def _take_over_held(
        self, by_key: Mapping[tuple[str, str], LeadPush], results: list[PushResult]
    ) -> list[PushResult]:
        """Wait for the claims of the pushes ``by_key`` that other runs hold and do not renew
        (their runs died without anyone noticing), then take them over; a claim still renewed
        after one lease belongs to a live run and is left to it."""
        deadline = self._clock() + self._ledger.lease
        while self._stopped is None:
            held = self._ledger.held_elsewhere(by_key, self._run_id, self._clock())
            lapsing = {
                (h.campaign_id, h.email): h.lease_expires_at
                for h in held
                if h.lease_expires_at is not None and h.lease_expires_at <= deadline
            }
            if not lapsing:
                break
            wait = (min(lapsing.values()) - self._clock()).total_seconds()
            self._sleep(max(wait, 0.0) + 0.05)
            retried = {
                (r.campaign_id, normalize_email(r.email)): r
                for r in self._push_all([by_key[key] for key in lapsing])[0]
            }
            results = [
                retried.get((r.campaign_id, normalize_email(r.email)), r)
                if r.result == SKIPPED_SETTLED
                else r
                for r in results
            ]
        return results

    def _push_all(
        self, pushes: Iterable[LeadPush]
    ) -> tuple[list[PushResult], dict[tuple[str, str], LeadPush]]:
        """Push ``pushes`` chunk by chunk: one result each, in their order, and, by key, the
        pushes of this run's own leads (not owed) that another run had settled or holds.

        The sends of all chunks go through one :meth:`~sales_pipeline.clients.base.
        VendorClient.concurrently`, which takes items only as they are needed: a chunk is
        drawn from ``pushes``, looked up and claimed when its first lead is about to be sent
        (while the last ones of the chunk before are still in flight, so the sending never
        drains between chunks), and its outcomes are recorded as soon as its last answer is in;
        then only its results are kept. When the step fails, the answers already in are
        recorded before the failure propagates.
        """
        in_flight: deque[_Chunk] = deque()
        results: list[PushResult] = []
        elsewhere: dict[tuple[str, str], LeadPush] = {}

        def settle(chunk: _Chunk) -> None:
            self._settle(chunk)
            for push, result in zip(chunk.pushes, chunk.results(), strict=True):
                results.append(result)
                if result.result == SKIPPED_SETTLED and not push.owed:
                    elsewhere[push.key] = push

        try:
            for chunk, answer in self._client.concurrently(
                lambda item: (item[0], self._send(item[1])), self._claimed(pushes, in_flight)
            ):
                chunk.answers.append(answer)
                while in_flight and in_flight[0].answered:
                    settle(in_flight.popleft())
        finally:
            while in_flight:
                settle(in_flight.popleft())
        return results, elsewhere

    def _claimed(
        self, pushes: Iterable[LeadPush], in_flight: deque[_Chunk]
    ) -> Iterator[tuple[_Chunk, LeadPush]]:
        """The leads to send, chunk by chunk, each chunk drawn from ``pushes``, added to
        ``in_flight``, looked up and claimed when reached."""
        drawn = iter(pushes)
        while batch := list(itertools.islice(drawn, self._chunk_size)):
            chunk = _Chunk(batch)
            in_flight.append(chunk)
            self._claim(chunk)
            yield from ((chunk, push) for push in chunk.sending)

    def _claim(self, chunk: _Chunk) -> None:
        """Skip ``chunk``'s suppressed leads (one lookup) and claim the others (one
        transaction); the ones claimed are to be sent."""
        chunk.suppressed = self._store.suppressed_emails(push.email for push in chunk.pushes)
        claimed = self._ledger.claim_pushes(
            [
                PushClaim(p.campaign_id, p.email, payload_hash(p.lead), p.lead, p.segment)
                for p in chunk.pushes
                if p.key[1] not in chunk.suppressed
            ],
            self._run_id,
            dead_run_ids=self._dead,
            now=self._clock(),
        )
        for push in chunk.pushes:
            if push.key in claimed:
                claimed.discard(push.key)
                chunk.sending.append(push)
        chunk.claimed = True

    def _settle(self, chunk: _Chunk) -> None:
        """Record the outcomes of ``chunk``'s answered sends in one transaction."""
        settlements = [
            PushSettlement(push.campaign_id, push.email, a.outcome, a.reason, a.lead_id)
            for push, a in zip(chunk.sending, chunk.answers, strict=False)
        ]
        chunk.recorded = self._ledger.record_push_outcomes(settlements, now=self._clock())

    def _send(self, push: LeadPush) -> _Answer:
        """Send one claimed lead (from any of the client's threads) unless sending has stopped;
        what it came to."""
        if self._stopped is not None:
            return _Answer(PushOutcome.DEFERRED, describe(self._stopped))
        sent_before = self._ledger.mark_sent(push.campaign_id, push.email)
        try:
            answer = self._client.add_lead_to_campaign(
                push.campaign_id, dict(push.lead), deduplicate=True
            )
        except InputValidationError as invalid:
            return _Answer(PushOutcome.REJECTED, invalid.message)
        except STOPPING as stop:
            self._stop(stop)
            return _Answer(PushOutcome.DEFERRED, describe(stop))
        except InvalidRequest as refused:
            return _Answer(PushOutcome.REJECTED, describe(refused))
        except ApiError as failure:
            return _Answer(PushOutcome.DEFERRED, describe(failure))
        except POISON as poison:
            return _Answer(PushOutcome.REJECTED, describe(poison))
        return self._answered(push, answer, sent_before)

    def _stop(self, error: ApiError) -> None:
        """Stop sending because of ``error``; the first stop is the one reported."""
        with self._stopping:
            if self._stopped is None:
                self._stopped = error

    def _answered(self, push: LeadPush, answer: AddLeadResult, sent_before: bool) -> _Answer:
        outcome = answer.outcome
        if outcome is AddLeadOutcome.ADDED:
            return _Answer(PushOutcome.ADDED, None, answer.lead_id)
        if outcome is AddLeadOutcome.ALREADY_IN_CAMPAIGN and (
            sent_before or answer.after_lost_attempt
        ):
            lead_id = self._read_back_lead_id(push)
            reason = "added by an earlier attempt whose answer was lost"
            return _Answer(PushOutcome.ADDED, reason, lead_id)
        if outcome is AddLeadOutcome.ALREADY_IN_CAMPAIGN:
            return _Answer(PushOutcome.ALREADY_PRESENT, "already in campaign")
        if outcome is AddLeadOutcome.IN_OTHER_CAMPAIGN:
            return _Answer(PushOutcome.ALREADY_PRESENT, "already in another campaign")
        return _Answer(PushOutcome.REJECTED, answer.reason)

    def _read_back_lead_id(self, push: LeadPush) -> str | None:
        """Lemlist's id for the lead in its campaign, or None when it cannot be read now."""
        try:
            return self._client.lead_id_in_campaign(push.email, push.campaign_id)
        except ApiError:
            return None
