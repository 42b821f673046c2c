"""Every Lemlist endpoint the client calls, and Lemlist's published sizes, in one place."""

from __future__ import annotations

from sales_pipeline.clients.transport import Operation

VENDOR = "lemlist"
DEFAULT_BASE_URL = "https://api.lemlist.com/api"
PAGE_MAX = 100
CAMPAIGN_STATUSES = frozenset({"running", "draft", "archived", "ended", "paused", "errors"})


class LemlistEndpoints:
    """Every Lemlist endpoint this client calls, in one place (below ``/api``)."""

    list_campaigns = Operation("list_campaigns", "GET", "/campaigns")
    add_lead_to_campaign = Operation(
        "add_lead_to_campaign",
        "POST",
        "/campaigns/{campaign_id}/leads/",
        idempotency=(
            "a resend after the lead was added answers 400 'Lead already in the campaign', "
            "which resolves to ALREADY_IN_CAMPAIGN: no duplicate lead"
        ),
    )
    get_lead = Operation("get_lead", "GET", "/leads/{email}")
    list_unsubscribes = Operation("list_unsubscribes", "GET", "/unsubscribes")
    list_activities = Operation("list_activities", "GET", "/activities")


ADD_LEAD = frozenset({LemlistEndpoints.add_lead_to_campaign.name})
