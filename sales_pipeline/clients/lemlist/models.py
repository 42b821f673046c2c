"""Lemlist's settings and the outcomes the client returns."""

from __future__ import annotations

from dataclasses import dataclass
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
class Hook:
    """A Lemlist webhook: its id and where it sends events (Lemlist never returns the
    secret it sends along)."""

    id: str
    target_url: str
