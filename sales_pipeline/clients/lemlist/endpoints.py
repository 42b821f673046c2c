"""Every Lemlist endpoint the client calls, its API version and Lemlist's published sizes.

Lemlist has no version in its paths; some routes take a ``version`` query
parameter instead, and ``v2`` is the one published form this client speaks
(`API_VERSIONS`): activities exist only in ``v2``, and campaigns answer the
paged ``{"campaigns": [...], "pagination": ...}`` envelope in it. The table
adds ``version=<v>`` to exactly the routes that take it (campaigns, a lead's
memberships, activities); adding leads and unsubscribes are unversioned.
"""

from __future__ import annotations

from dataclasses import dataclass

from sales_pipeline.clients.transport import Operation

VENDOR = "lemlist"
DEFAULT_BASE_URL = "https://api.lemlist.com/api"
API_VERSIONS = ("v2",)
"""Values of the ``version`` query parameter this client speaks, the default first."""
PAGE_MAX = 100
CAMPAIGN_STATUSES = frozenset({"running", "draft", "archived", "ended", "paused", "errors"})
PAGE_CAP = 16 * 1024 * 1024
"""Largest answer of a list page (100 activities, campaigns or unsubscribes)."""
LEAD_CAP = 1024 * 1024
"""Largest answer about one lead."""
ADD_LEAD = "add_lead_to_campaign"
GET_LEAD = "get_lead"
"""Operation names the resolution table scopes rules to."""


@dataclass(frozen=True)
class LemlistEndpoints:
    """Every Lemlist endpoint this client calls, for one API version (below ``/api``)."""

    version: str
    list_campaigns: Operation
    add_lead_to_campaign: Operation
    get_lead: Operation
    list_unsubscribes: Operation
    list_activities: Operation
    list_hooks: Operation
    create_hook: Operation

    @classmethod
    def for_version(cls, version: str) -> LemlistEndpoints:
        """The endpoints of API ``version`` (checked by `LemlistSettings`)."""
        versioned = (("version", version),)
        return cls(
            version=version,
            list_campaigns=Operation(
                "list_campaigns",
                "GET",
                "/campaigns",
                fixed_params=versioned,
                max_response_bytes=PAGE_CAP,
            ),
            add_lead_to_campaign=Operation(
                ADD_LEAD,
                "POST",
                "/campaigns/{campaign_id}/leads/",
                idempotency=(
                    "a resend after the lead was added answers 400 'Lead already in the "
                    "campaign', which resolves to ALREADY_IN_CAMPAIGN: no duplicate lead"
                ),
                max_response_bytes=LEAD_CAP,
            ),
            get_lead=Operation(
                GET_LEAD,
                "GET",
                "/leads/{email}",
                fixed_params=versioned,
                max_response_bytes=LEAD_CAP,
            ),
            list_unsubscribes=Operation(
                "list_unsubscribes", "GET", "/unsubscribes", max_response_bytes=PAGE_CAP
            ),
            list_activities=Operation(
                "list_activities",
                "GET",
                "/activities",
                fixed_params=versioned,
                max_response_bytes=PAGE_CAP,
            ),
            list_hooks=Operation("list_hooks", "GET", "/hooks", max_response_bytes=PAGE_CAP),
            create_hook=Operation(
                "create_hook", "POST", "/hooks", idempotency=None, max_response_bytes=LEAD_CAP
            ),
        )
