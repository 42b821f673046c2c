"""Explorium client against a scripted server: matching, bulk enrichment, credits."""

from __future__ import annotations

import pytest

from sales_pipeline.clients import (
    EnrichStatus,
    Firmographics,
    InputValidationError,
    MatchStatus,
    ProspectProfile,
    QuotaExhausted,
)
from sales_pipeline_tests.clients.conftest import EXPLORIUM_KEY, Recorded, Scripted

PROSPECT_A = "a" * 40
PROSPECT_B = "b" * 40
PROSPECT_C = "c" * 40
CONTEXT = {"correlation_id": "ex-corr", "request_status": "success", "time_took_in_seconds": 0.1}


def match_echo(request: Recorded) -> Scripted:
    """Match every query, answering in input order."""
    rows = [
        {"input": query, "prospect_id": f"{i:040x}"}
        for i, query in enumerate(request.json["prospects_to_match"])
    ]
    return Scripted(json={"response_context": CONTEXT, "matched_prospects": rows})


def test_match_prospects_keeps_input_order_and_reports_each_outcome(server, explorium):
    server.queue(
        Scripted(
            json={
                "response_context": CONTEXT,
                "total_results": 3,
                "total_matches": 1,
                "matched_prospects": [
                    {"input": {"email": "ann@acme.com"}, "prospect_id": PROSPECT_A},
                    {"input": {"email": "bob@acme.com"}, "prospect_id": None},
                    {"input": {"linkedin": "x"}, "error": "bad input", "error_type": "invalid"},
                ],
            }
        )
    )
    queries = [
        {"email": "Ann@Acme.com", "phone_number": ""},
        {"email": "bob@acme.com"},
        {"linkedin": "https://www.linkedin.com/in/cy"},
    ]

    results = explorium.match_prospects(queries)

    assert [(r.index, r.status, r.entity_id) for r in results] == [
        (0, MatchStatus.MATCHED, PROSPECT_A),
        (1, MatchStatus.UNMATCHED, None),
        (2, MatchStatus.FAILED, None),
    ]
    assert results[2].reason == "invalid: bad input"
    request = server.requests[0]
    assert request.path == "/explorium/v1/prospects/match"
    assert request.headers["api_key"] == EXPLORIUM_KEY
    assert "Authorization" not in request.headers
    assert request.json["prospects_to_match"][0] == {"email": "ann@acme.com"}


def test_match_prospects_sends_batches_of_at_most_50(server, explorium):
    server.handler = match_echo
    queries = [{"email": f"user{i}@acme.com"} for i in range(120)]

    results = explorium.match_prospects(queries)

    assert [len(r.json["prospects_to_match"]) for r in server.requests] == [50, 50, 20]
    assert [r.index for r in results] == list(range(120))
    assert all(r.status is MatchStatus.MATCHED for r in results)


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"email": "a@acme.com", "nickname": "Al"}, "queries[1].nickname"),
        ({"full_name": "Al Smith"}, "queries[1].company_name"),
        ({"company_name": "Acme"}, "queries[1]"),
        ({"email": "a@acme.com<script>"}, "queries[1].email"),
        ({"linkedin": "https://evil.example/in/al"}, "queries[1].linkedin"),
    ],
    ids=["unknown-key", "name-without-company", "nothing-identifying", "html", "foreign-url"],
)
def test_match_prospects_rejects_a_bad_query_before_sending(server, explorium, query, field):
    with pytest.raises(InputValidationError) as raised:
        explorium.match_prospects([{"email": "ok@acme.com"}, query])

    assert raised.value.field == field
    assert server.requests == []


def test_match_businesses_uses_business_fields(server, explorium):
    server.queue(
        Scripted(
            json={
                "matched_businesses": [
                    {"input": {"domain": "acme.com"}, "business_id": "f" * 32},
                    {"input": {"name": "Nobody"}, "business_id": None},
                ]
            }
        )
    )

    results = explorium.match_businesses([{"domain": "ACME.com"}, {"name": "Nobody"}])

    assert [r.status for r in results] == [MatchStatus.MATCHED, MatchStatus.UNMATCHED]
    assert server.requests[0].json == {
        "businesses_to_match": [{"domain": "acme.com"}, {"name": "Nobody"}]
    }


def contacts_row(prospect_id: str) -> dict[str, object]:
    return {
        "prospect_id": prospect_id,
        "data": {
            "emails": [{"address": "x@acme.com", "type": "professional"}],
            "professional_email_status": "valid",
        },
    }


def test_enrich_contacts_returns_one_result_per_id_and_counts_credits(server, explorium):
    server.queue(
        Scripted(
            json={
                "response_context": CONTEXT,
                "total_results": 1,
                "data": [contacts_row(PROSPECT_A)],
            }
        )
    )

    results = explorium.enrich_contacts_information([PROSPECT_A, PROSPECT_B, PROSPECT_A])

    assert [(r.entity_id, r.status, r.credits) for r in results] == [
        (PROSPECT_A, EnrichStatus.FOUND, 2.0),
        (PROSPECT_B, EnrichStatus.NOT_FOUND, 0.0),
        (PROSPECT_A, EnrichStatus.FOUND, 2.0),
    ]
    assert server.requests[0].json == {
        "prospect_ids": [PROSPECT_A, PROSPECT_B],
        "parameters": {"contact_types": ["email"]},
    }
    assert server.requests[0].path == "/explorium/v1/prospects/contacts_information/bulk_enrich"
    assert explorium.metrics_snapshot()["credits_used"] == 2.0


def test_phone_enrichment_costs_five_credits_per_record(server, explorium):
    server.queue(Scripted(json={"data": [contacts_row(PROSPECT_C)]}))

    results = explorium.enrich_contacts_information([PROSPECT_C], ["email", "phone"])

    assert results[0].credits == 5.0


def test_out_of_credits_raises_quota_exhausted_keeping_finished_batches(server, explorium):
    ids = [f"{i:040x}" for i in range(60)]
    server.queue(
        Scripted(json={"data": [contacts_row(value) for value in ids[:50]]}),
        Scripted(
            403,
            json={
                "details": "You have insufficient credits to perform this operation",
                "correlation_id": "ex-403",
            },
        ),
    )

    with pytest.raises(QuotaExhausted) as raised:
        explorium.enrich_contacts_information(ids)

    assert raised.value.retryable is False
    assert raised.value.correlation_id == "ex-403"
    assert len(raised.value.partial) == 50
    assert len(server.requests) == 2


def test_enrichment_ids_are_validated_before_sending(server, explorium):
    with pytest.raises(InputValidationError) as raised:
        explorium.enrich_firmographics(["f" * 32, "not-an-id"])

    assert raised.value.field == "business_ids[1]"
    assert server.requests == []


def test_profiles_and_firmographics_use_the_bulk_endpoints(server, explorium):
    server.queue(
        Scripted(json={"data": [{"prospect_id": PROSPECT_A, "data": {"job_title": "CTO"}}]}),
        Scripted(json={"data": [{"business_id": "e" * 32, "data": {"name": "Acme"}}]}),
    )

    profiles = explorium.enrich_profiles([PROSPECT_A])
    firms = explorium.enrich_firmographics(["e" * 32])

    assert profiles[0].data == ProspectProfile(job_title="CTO")
    assert firms[0].data == Firmographics(name="Acme")
    assert [r.path for r in server.requests] == [
        "/explorium/v1/prospects/profiles/bulk_enrich",
        "/explorium/v1/businesses/firmographics/bulk_enrich",
    ]


def test_check_health_reports_remaining_credits(server, explorium):
    server.queue(
        Scripted(
            json={"response_context": CONTEXT, "allocated_credits": 100, "remaining_credits": 40}
        )
    )

    report = explorium.check_health()

    assert report.ok is True
    assert report.extra == {"allocated_credits": 100, "remaining_credits": 40}
