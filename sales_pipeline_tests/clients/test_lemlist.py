"""Lemlist client against a scripted server: add-lead outcomes, validation, paging."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import pytest

from sales_pipeline.clients import (
    AddLeadOutcome,
    AuthError,
    InputValidationError,
    NotFound,
)
from sales_pipeline_tests.clients.conftest import LEMLIST_KEY, Recorded, Scripted

CAMPAIGN = "cam_4HrZbi8xsez4QlrnL"
LEAD = {"email": "ann@acme.com", "firstName": "Ann", "variables": {"score": 87, "vip": True}}


def text(status: int, body: str) -> Scripted:
    return Scripted(status, text=body)


def test_adding_a_lead_sends_basic_auth_with_empty_user_and_string_variables(server, lemlist):
    server.queue(Scripted(json={"_id": "lea_1", "email": "ann@acme.com"}))

    result = lemlist.add_lead_to_campaign(CAMPAIGN, LEAD)

    assert result.outcome is AddLeadOutcome.ADDED
    assert result.lead_id == "lea_1"
    request = server.requests[0]
    assert request.path == f"/lemlist/api/campaigns/{CAMPAIGN}/leads/"
    assert request.param("deduplicate") == "false"
    expected = base64.b64encode(f":{LEMLIST_KEY}".encode()).decode()
    assert request.headers["Authorization"] == f"Basic {expected}"
    assert "access_token" not in request.query
    assert request.json == {
        "email": "ann@acme.com",
        "firstName": "Ann",
        "score": "87",
        "vip": "true",
    }


@pytest.mark.parametrize(
    ("answer", "outcome"),
    [
        (text(400, "Lead already in the campaign"), AddLeadOutcome.ALREADY_IN_CAMPAIGN),
        (text(400, "lead ALREADY IN THE CAMPAIGN"), AddLeadOutcome.ALREADY_IN_CAMPAIGN),
        (text(409, "Lead already in other campaign"), AddLeadOutcome.IN_OTHER_CAMPAIGN),
        (text(400, "Invalid email address"), AddLeadOutcome.REJECTED),
        (text(400, "Email address is in the graveyard"), AddLeadOutcome.REJECTED),
    ],
)
def test_known_add_lead_answers_are_outcomes_not_errors(server, lemlist, answer, outcome):
    server.queue(answer)

    result = lemlist.add_lead_to_campaign(CAMPAIGN, LEAD, deduplicate=True)

    assert result.outcome is outcome
    assert len(server.requests) == 1
    assert server.requests[0].param("deduplicate") == "true"


def test_rejected_lead_carries_lemlist_reason(server, lemlist):
    server.queue(text(400, "Invalid email address"))

    result = lemlist.add_lead_to_campaign(CAMPAIGN, LEAD)

    assert result.reason == "Invalid email address"


def test_resent_add_that_meets_already_in_campaign_counts_as_done(server, lemlist):
    server.queue(text(503, "unavailable"), text(400, "Lead already in the campaign"))

    result = lemlist.add_lead_to_campaign(CAMPAIGN, LEAD)

    assert result.outcome is AddLeadOutcome.ALREADY_IN_CAMPAIGN
    assert len(server.requests) == 2


def test_unknown_campaign_is_not_found(server, lemlist):
    server.queue(text(404, "Campaign not found"))

    with pytest.raises(NotFound):
        lemlist.add_lead_to_campaign(CAMPAIGN, LEAD)


@pytest.mark.parametrize(
    ("lead", "field"),
    [
        ({"email": "not-an-email"}, "lead.email"),
        ({"firstName": "Ann"}, "lead.email"),
        ({"email": "a@acme.com", "firstName": "<b>Ann</b>"}, "lead.firstName"),
        ({"email": "a@acme.com", "lastName": "Smith\x07"}, "lead.lastName"),
        ({"email": "a@acme.com", "jobTitle": "x" * 201}, "lead.jobTitle"),
        ({"email": "a@acme.com", "nickname": "Al"}, "lead.nickname"),
        ({"email": "a@acme.com", "timezone": "Mars/Olympus"}, "lead.timezone"),
        ({"email": "a@acme.com", "linkedinUrl": "https://evil.example/in/a"}, "lead.linkedinUrl"),
        ({"email": "a@acme.com", "variables": {"firstName": "x"}}, "lead.variables.firstName"),
        ({"email": "a@acme.com", "variables": {"tags": ["a"]}}, "lead.variables.tags"),
    ],
    ids=[
        "bad-email",
        "missing-email",
        "html",
        "control-char",
        "too-long",
        "unknown-field",
        "bad-timezone",
        "foreign-linkedin",
        "variable-shadows-field",
        "non-scalar-variable",
    ],
)
def test_invalid_lead_names_the_field_and_sends_nothing(server, lemlist, lead, field):
    with pytest.raises(InputValidationError) as raised:
        lemlist.add_lead_to_campaign(CAMPAIGN, lead)

    assert raised.value.field == field
    assert raised.value.retryable is False
    assert server.requests == []


def test_plain_text_auth_failure_is_an_auth_error(server, lemlist):
    server.queue(text(401, "The authentication you supplied is incorrect"))

    with pytest.raises(AuthError):
        lemlist.list_campaigns()

    assert len(server.requests) == 1


def test_list_campaigns_pages_through_the_v2_envelope(server, lemlist):
    def campaigns(request: Recorded) -> Scripted:
        page = int(request.param("page") or 1)
        items = [
            {"_id": f"cam_p{page}n{i}", "name": f"C{i}"} for i in range(100 if page == 1 else 3)
        ]
        pagination = {"totalRecords": 103, "currentPage": page, "totalPage": 2}
        return Scripted(json={"campaigns": items, "pagination": pagination})

    server.handler = campaigns

    found = lemlist.list_campaigns(status="running")

    assert len(found) == 103
    first, second = server.requests
    assert first.param("version") == "v2"
    assert first.param("status") == "running"
    assert (first.param("offset"), second.param("offset")) == ("0", "100")
    assert (first.param("page"), second.param("page")) == ("1", "2")


def test_list_campaigns_reads_a_bare_array(server, lemlist):
    server.queue(Scripted(json=[{"_id": "cam_a"}, {"_id": "cam_b"}]))

    assert [c.id for c in lemlist.list_campaigns()] == ["cam_a", "cam_b"]


def test_paging_stops_when_a_server_ignores_the_offset(server, lemlist):
    server.handler = lambda _: Scripted(json=[{"_id": f"cam_{i}"} for i in range(100)])

    assert len(lemlist.list_campaigns()) == 100
    assert len(server.requests) == 2


def test_unsubscribes_page_by_offset_until_a_short_page(server, lemlist):
    def unsubscribes(request: Recorded) -> Scripted:
        offset = int(request.param("offset") or 0)
        count = 100 if offset == 0 else 30
        rows = [{"_id": f"uns_{offset + i}", "value": f"@d{offset + i}.com"} for i in range(count)]
        return Scripted(json=rows)

    server.handler = unsubscribes

    values = [u.value for u in lemlist.iter_unsubscribes()]

    assert len(values) == 130
    assert [(r.param("offset"), r.param("limit")) for r in server.requests] == [
        ("0", "100"),
        ("100", "100"),
    ]


def test_activities_ask_for_v2_since_a_moment_with_filters(server, lemlist):
    server.queue(Scripted(json=[{"_id": "act_1", "type": "emailsReplied"}]))

    activities = list(
        lemlist.iter_activities(
            datetime(2025, 7, 7, 12, tzinfo=UTC), type="emailsReplied", campaign_id=CAMPAIGN
        )
    )

    assert [(a.id, a.type) for a in activities] == [("act_1", "emailsReplied")]
    request = server.requests[0]
    assert request.path == "/lemlist/api/activities"
    assert request.param("version") == "v2"
    assert request.param("minDate") == "2025-07-07T12:00:00.000Z"
    assert request.param("type") == "emailsReplied"
    assert request.param("campaignId") == CAMPAIGN


def test_get_lead_answers_none_when_lemlist_has_no_such_lead(server, lemlist):
    server.queue(text(404, "Lead not found"))

    assert lemlist.get_lead("ann@acme.com") is None
    assert server.requests[0].path == "/lemlist/api/leads/ann%40acme.com"


def test_human_readable_reset_header_is_never_parsed_as_a_number(server, lemlist):
    reset = "Tue Feb 16 2021 09:02:42 GMT+0100 (Central European Standard Time)"
    server.queue(
        Scripted(
            json=[],
            headers={
                "X-RateLimit-Limit": "20",
                "X-RateLimit-Remaining": "15",
                "X-RateLimit-Reset": reset,
            },
        )
    )

    assert lemlist.list_campaigns() == []


def test_check_health_probes_one_campaign(server, lemlist):
    server.queue(Scripted(json=[]))

    report = lemlist.check_health()

    assert report.ok is True
    assert server.requests[0].param("limit") == "1"
