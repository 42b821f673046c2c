"""Explorium credits as the vendor reports them: every call asks for the report, an answer's
``credit_usage`` is what is counted, and the per-record estimate stands in only for an answer
that reports nothing (and the usage says so)."""

from __future__ import annotations

import pytest

from sales_pipeline.clients import ExploriumClient, ServerError
from sales_pipeline.clients.explorium import CreditUsage
from sales_pipeline_tests.clients.conftest import Scripted, ScriptedServer

PROSPECT = "a" * 40
BUSINESS = "b" * 32


def _profile_answer(**extra: object) -> Scripted:
    """A profiles answer for :data:`PROSPECT`, with ``extra`` top-level keys."""
    rows = [{"prospect_id": PROSPECT, "data": {"job_title": "CTO"}}]
    return Scripted(json={"data": rows, **extra})


def test_every_request_asks_for_the_credit_report(
    server: ScriptedServer, explorium: ExploriumClient
) -> None:
    server.queue(Scripted(json={"matched_prospects": [{"prospect_id": None}]}), _profile_answer())

    explorium.match_prospects([{"email": "ann@acme.com"}])
    explorium.enrich_profiles([PROSPECT])

    assert [r.headers.get("credit-usage") for r in server.requests] == ["true", "true"]


def test_reported_credits_are_counted_for_every_kind_of_enrichment(
    server: ScriptedServer, explorium: ExploriumClient
) -> None:
    server.queue(
        _profile_answer(credit_usage={"total_results": 1, "total_credits": 3}),
        Scripted(
            json={
                "data": [{"business_id": BUSINESS, "data": {"name": "Acme"}}],
                "credit_usage": {"total_results": 1, "total_credits": 1},
            }
        ),
    )

    explorium.enrich_profiles([PROSPECT])
    explorium.enrich_firmographics([BUSINESS])

    assert explorium.credit_usage() == CreditUsage(reported=4.0)
    assert explorium.metrics_snapshot()["credits_used"] == 4.0


def test_an_answer_without_a_report_is_estimated_and_counted_as_such(
    server: ScriptedServer, explorium: ExploriumClient
) -> None:
    server.queue(
        Scripted(
            json={
                "data": [{"prospect_id": PROSPECT, "data": {"professions_email": "ann@acme.com"}}],
                "credit_usage": {"total_results": 1, "total_credits": 2},
            }
        ),
        Scripted(
            json={"data": [{"prospect_id": PROSPECT, "data": {"professions_email": "a@b.io"}}]}
        ),
    )

    explorium.enrich_contacts_information([PROSPECT])
    explorium.enrich_contacts_information([PROSPECT], ["email", "phone"])

    usage = explorium.credit_usage()
    assert usage == CreditUsage(reported=2.0, estimated=5.0, unreported_calls=1)
    assert usage.total == 7.0


def test_usage_since_a_snapshot_is_the_difference(
    server: ScriptedServer, explorium: ExploriumClient
) -> None:
    server.queue(
        _profile_answer(credit_usage={"total_results": 1, "total_credits": 1}),
        _profile_answer(credit_usage={"total_results": 1, "total_credits": 1}),
    )
    explorium.enrich_profiles([PROSPECT])
    before = explorium.credit_usage()

    explorium.enrich_profiles([PROSPECT])

    assert explorium.credit_usage() - before == CreditUsage(reported=1.0)


@pytest.mark.parametrize("report", [{"total_credits": "3"}, {"total_credits": -1}, [1]])
def test_a_credit_report_of_the_wrong_shape_fails_loudly(
    server: ScriptedServer, explorium: ExploriumClient, report: object
) -> None:
    server.queue(_profile_answer(credit_usage=report))

    with pytest.raises(ServerError, match="credit_usage"):
        explorium.enrich_profiles([PROSPECT])
