"""Writes that must not duplicate or burn money: Lemlist adds over lost answers, Explorium
out of credits."""

from __future__ import annotations

from collections import Counter

import pytest

from sales_pipeline.clients import AddLeadOutcome, MatchStatus, QuotaExhausted
from sales_pipeline_tests.integration.conftest import Clients, SandboxControl


def running_campaign(sandbox: SandboxControl) -> str:
    return next(
        str(campaign["_id"])
        for campaign in sandbox.state("lemlist")["campaigns"]
        if campaign["status"] == "running"
    )


def test_adds_whose_answers_are_lost_leave_exactly_one_lead_each(sandbox, clients: Clients):
    campaign = running_campaign(sandbox)
    sandbox.set_faults({"lemlist": {"drop_connection": 0.3}})
    emails = [f"lead{i}@idempotency.example.com" for i in range(12)]
    lemlist = clients.lemlist()

    results = [
        lemlist.add_lead_to_campaign(campaign, {"email": email, "firstName": "Lee"})
        for email in emails
    ]

    outcomes = Counter(result.outcome for result in results)
    assert set(outcomes) == {AddLeadOutcome.ADDED, AddLeadOutcome.ALREADY_IN_CAMPAIGN}
    stats = sandbox.stats("lemlist")
    assert stats["faults_injected"]["drop"] >= outcomes[AddLeadOutcome.ALREADY_IN_CAMPAIGN]
    assert stats["leads_added"] == len(emails)
    [held] = [c["leads"] for c in sandbox.state("lemlist")["campaigns"] if c["_id"] == campaign]
    assert sorted(lead["email"] for lead in held) == sorted(emails)


def test_running_out_of_explorium_credits_raises_quota_exhausted_at_once(sandbox, clients: Clients):
    explorium = clients.explorium()
    queries = [{"email": p["properties"]["email"]} for p in sandbox.state("hubspot")["contacts"]]
    matched = [
        result.entity_id
        for result in explorium.match_prospects(queries[:50])
        if result.status is MatchStatus.MATCHED and result.entity_id
    ]
    sandbox.set_limits(explorium={"credits": 3})

    with pytest.raises(QuotaExhausted) as raised:
        explorium.enrich_contacts_information(matched[:5])

    assert raised.value.status == 403
    assert raised.value.retryable is False
    stats = sandbox.stats("explorium")
    assert stats["by_endpoint"]["contacts_bulk_enrich"] == {"403": 1}
    assert stats["credits_remaining"] == 3
