"""Pushing qualified leads into Lemlist campaigns exactly once.

Plain Python over the Lemlist client and the store (no Dagster). Lemlist has no idempotency key
and no bulk add, so exactly-once comes from the store's push ledger:

1. right before sending, a lead that has since been suppressed (an unsubscribe or bounce that
   arrived after qualification) is skipped;
2. the push is *claimed* in the ledger (an atomic insert); a push another live run holds, or one
   already settled, is not sent again;
3. the lead is added with ``deduplicate=true``; Lemlist's "already in the campaign" (a retry
   after a lost answer, or a crash between sending and recording) and "already in another
   campaign" are outcomes, not errors, which is what makes resending safe;
4. the outcome is recorded: added, already present, rejected (with Lemlist's or our validator's
   reason), or deferred when Lemlist cannot be reached, for the next run to finish.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection, Hashable, Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from sales_pipeline.clients import (
    AddLeadOutcome,
    AddLeadResult,
    ApiError,
    CircuitOpen,
    InputValidationError,
    LemlistClient,
    QuotaExhausted,
)
from sales_pipeline.domain.outcomes import PushOutcome
from sales_pipeline.store.pipeline_store import PipelineStore

SKIPPED_SUPPRESSED = "skipped_suppressed"
"""Result of a lead suppressed between qualification and push (not claimed, nothing sent)."""
SKIPPED_SETTLED = "skipped_settled"
"""Result of a lead whose push was settled earlier or is held by another live run."""

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
class PushResult:
    """What happened to one lead: a :class:`PushOutcome` value or a ``skipped_*`` marker."""

    email: str
    campaign_id: str
    result: str
    reason: str | None = None


def push_leads(
    client: LemlistClient,
    store: PipelineStore,
    leads: pd.DataFrame,
    run_id: str,
    dead_run_ids: Collection[str] = (),
) -> list[PushResult]:
    """Push every row of ``leads`` (``QualifiedLeads`` not excluded) to its ``campaign_id``.

    ``dead_run_ids`` are runs known to have ended: their unfinished claims are taken over.
    """
    results: list[PushResult] = []
    stopped: str | None = None
    for lead in leads.to_dict("records"):
        email, campaign = str(lead["email"]), str(lead["campaign_id"])
        if store.is_suppressed(email):
            results.append(PushResult(email, campaign, SKIPPED_SUPPRESSED, "suppressed"))
            continue
        payload = lead_payload(lead)
        if not store.record_push_intent(
            campaign, email, payload_hash(payload), run_id, dead_run_ids=dead_run_ids
        ):
            results.append(PushResult(email, campaign, SKIPPED_SETTLED))
            continue
        if stopped is not None:
            results.append(_settle(store, email, campaign, PushOutcome.DEFERRED, stopped))
            continue
        try:
            answer = client.add_lead_to_campaign(campaign, payload, deduplicate=True)
        except InputValidationError as invalid:
            results.append(_settle(store, email, campaign, PushOutcome.REJECTED, invalid.message))
            continue
        except (CircuitOpen, QuotaExhausted) as stop:
            stopped = f"{type(stop).__name__}: {stop.message}"
            results.append(_settle(store, email, campaign, PushOutcome.DEFERRED, stopped))
            continue
        except ApiError as failure:
            reason = f"{type(failure).__name__}: {failure.message}"
            results.append(_settle(store, email, campaign, PushOutcome.DEFERRED, reason))
            continue
        results.append(_record_answer(store, email, campaign, answer))
    return results


def _record_answer(
    store: PipelineStore, email: str, campaign: str, answer: AddLeadResult
) -> PushResult:
    outcome = answer.outcome
    if outcome is AddLeadOutcome.ADDED:
        return _settle(store, email, campaign, PushOutcome.ADDED, None, answer.lead_id)
    if outcome is AddLeadOutcome.ALREADY_IN_CAMPAIGN:
        return _settle(store, email, campaign, PushOutcome.ALREADY_PRESENT, "already in campaign")
    if outcome is AddLeadOutcome.IN_OTHER_CAMPAIGN:
        return _settle(
            store, email, campaign, PushOutcome.ALREADY_PRESENT, "already in another campaign"
        )
    return _settle(store, email, campaign, PushOutcome.REJECTED, answer.reason)


def _settle(
    store: PipelineStore,
    email: str,
    campaign: str,
    outcome: PushOutcome,
    reason: str | None,
    lead_id: str | None = None,
) -> PushResult:
    store.record_push_outcome(campaign, email, outcome, reason, lead_id)
    return PushResult(email, campaign, outcome.value, reason)
