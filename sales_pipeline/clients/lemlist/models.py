"""Lemlist's settings and the typed records the client returns (Lemlist's JSON ends here)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import Enum

from sales_pipeline.clients.lemlist.endpoints import API_VERSIONS, PAGE_MAX


@dataclass(frozen=True)
class LemlistSettings:
    """Lemlist tuning; defaults are the published values.

    Attributes:
        api_version: Value of the ``version`` query parameter (``v2``, the only
            one this client speaks; see `API_VERSIONS`).
        requests_per_window: Requests allowed per window (20).
        window_s: Window length (2 s).
        page_size: Items per list page (1..100).
        rate_limited_wait_s: Wait after a 429 without ``Retry-After``.
    """

    api_version: str = API_VERSIONS[0]
    requests_per_window: int = 20
    window_s: float = 2.0
    page_size: int = PAGE_MAX
    rate_limited_wait_s: float = 2.0

    def __post_init__(self) -> None:
        if self.api_version not in API_VERSIONS:
            raise ValueError(f"api_version must be one of {', '.join(API_VERSIONS)}")
        if not 1 <= self.page_size <= PAGE_MAX:
            raise ValueError(f"page_size must be within 1..{PAGE_MAX}")


class AddLeadOutcome(Enum):
    """What adding a lead to a campaign did."""

    ADDED = "added"
    ALREADY_IN_CAMPAIGN = "already_in_campaign"
    IN_OTHER_CAMPAIGN = "in_other_campaign"
    REJECTED = "rejected"


@dataclass(frozen=True)
class AddLeadResult:
    """The outcome of `LemlistClient.add_lead_to_campaign`.

    Attributes:
        outcome: See `AddLeadOutcome`.
        lead_id: Lemlist's ``lea_...`` id when ``ADDED``.
        reason: Lemlist's text (redacted, bounded) when ``REJECTED``.
        after_lost_attempt: ``ALREADY_IN_CAMPAIGN`` came after an attempt of this same
            call that may have added the lead (its answer was lost): the lead was most
            likely added by this call.
    """

    outcome: AddLeadOutcome
    lead_id: str | None = None
    reason: str | None = None
    after_lost_attempt: bool = False


@dataclass(frozen=True)
class Campaign:
    """One Lemlist campaign.

    Attributes:
        id: Lemlist's ``cam_...`` id.
        name: The campaign's name (None when Lemlist sends none).
        status: ``running``, ``paused``... (None when Lemlist sends none).
    """

    id: str
    name: str | None = None
    status: str | None = None


@dataclass(frozen=True)
class Unsubscribe:
    """One entry of Lemlist's unsubscribe list.

    Attributes:
        value: An email, or ``@domain`` for a whole domain.
        created_at: When it was added (None when absent or unreadable).
    """

    value: str
    created_at: datetime | None = None


@dataclass(frozen=True)
class Activity:
    """One Lemlist activity (an email sent, opened, replied to, bounced...).

    Attributes:
        id: Lemlist's activity id (None when Lemlist sends none).
        type: The activity type, e.g. ``emailsReplied``.
        lead_email: The lead's email (None when absent).
        created_at: When it happened (None when absent or unreadable).
        campaign_id: The campaign it belongs to (None when absent).
    """

    id: str | None
    type: str
    lead_email: str | None = None
    created_at: datetime | None = None
    campaign_id: str | None = None


@dataclass(frozen=True)
class LeadMembership:
    """A lead's place in one campaign, as `LemlistClient.get_lead` returns it.

    Attributes:
        lead_id: Lemlist's ``lea_...`` id (None when absent).
        campaign_id: The campaign's ``cam_...`` id (None when absent).
    """

    lead_id: str | None
    campaign_id: str | None


@dataclass(frozen=True)
class Hook:
    """A Lemlist webhook: its id and where it sends events (Lemlist never returns the
    secret it sends along)."""

    id: str
    target_url: str
