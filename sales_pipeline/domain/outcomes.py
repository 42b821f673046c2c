"""The states and reasons the pipeline records for each contact, lead and engagement."""

from __future__ import annotations

from enum import StrEnum


class PushOutcome(StrEnum):
    """Where a Lemlist push stands in the ledger."""

    PENDING = "pending"
    """Claimed by a run; the request may or may not have reached Lemlist."""
    ADDED = "added"
    """Lemlist created the lead in the campaign."""
    ALREADY_PRESENT = "already_present"
    """Lemlist answered that the lead is already in the campaign."""
    REJECTED = "rejected"
    """Lemlist refused the lead for good (invalid email, graveyard, ...)."""
    DEFERRED = "deferred"
    """Not sent, or failed transiently; a later run tries again when it is due."""
    GIVEN_UP = "given_up"
    """Deferred too often or for too long (see ``RetrySchedule``); the reason says why."""


IN_CAMPAIGN_OUTCOMES = frozenset({PushOutcome.ADDED, PushOutcome.ALREADY_PRESENT})
"""Outcomes meaning the lead is in the campaign."""

OUTSTANDING_OUTCOMES = frozenset({PushOutcome.PENDING, PushOutcome.DEFERRED})
"""Outcomes of pushes still owed: a later run finishes them."""


class MatchStatus(StrEnum):
    """How one match query ended (the enrichment cache keeps only matched or unmatched)."""

    MATCHED = "matched"
    UNMATCHED = "unmatched"
    FAILED = "failed"
    """The vendor reported an error for this query."""


class SuppressionSource(StrEnum):
    """Why an email or domain is suppressed; earlier members win when several apply."""

    LEMLIST_BOUNCE = "lemlist_bounce"
    LEMLIST_UNSUBSCRIBE = "lemlist_unsubscribe"
    HUBSPOT_OPTOUT = "hubspot_optout"
    REPLY = "reply"
    MANUAL = "manual"


SOURCE_PRIORITY = {source.value: rank for rank, source in enumerate(SuppressionSource)}


class EmailStatus(StrEnum):
    """How deliverable an email is, as far as we know."""

    VALID = "valid"
    CATCH_ALL = "catch-all"
    INVALID = "invalid"
    UNKNOWN = "unknown"


EXPLORIUM_EMAIL_STATUSES = (EmailStatus.VALID, EmailStatus.CATCH_ALL, EmailStatus.INVALID)
"""The statuses Explorium verifies a professional email with."""


class EnrichmentStatus(StrEnum):
    """What enrichment a contact got in this run."""

    ENRICHED = "enriched"
    """Matched and enriched by Explorium in this run."""
    UNMATCHED = "unmatched"
    """Explorium does not know the person (in this run, or cached)."""
    DEFERRED = "deferred"
    """Explorium was not asked or did not answer; enrich again later."""
    CACHED = "cached"
    """Matched earlier; the enrichment comes from the cache."""


class ExclusionReason(StrEnum):
    """Why a qualified lead is not pushed, in the order the reasons are checked."""

    OPTED_OUT = "opted_out"
    """The contact opted out of email in HubSpot (itself or a merged duplicate)."""
    BOUNCED = "bounced"
    """The email bounced in Lemlist."""
    UNSUBSCRIBED = "unsubscribed"
    """The email or its whole ``@domain`` is on a suppression list (Lemlist unsubscribes, ...)."""
    ALREADY_PUSHED = "already_pushed"
    """The lead is already in one of our Lemlist campaigns."""
    ENRICHMENT_DEFERRED = "enrichment_deferred"
    """Explorium could not be asked; the contact is qualified once it is enriched."""
    INVALID_EMAIL = "invalid_email"
    """Explorium verified the email as undeliverable."""
    EMAIL_STATUS_NOT_ALLOWED = "email_status_not_allowed"
    """The email's status is not among the rules' allowed statuses."""
    BELOW_THRESHOLD = "below_threshold"
    """The ICP score is below the rules' threshold."""
    NO_CAMPAIGN = "no_campaign"
    """No segment matched and the rules have no default campaign."""


class EngagementState(StrEnum):
    """Where a queued engagement stands."""

    PENDING = "pending"
    """Waiting for the next writeback."""
    WRITTEN = "written"
    """HubSpot accepted the lead status."""
    FAILED = "failed"
    """HubSpot refused this contact's update (its message is kept); not retried."""
    SKIPPED = "skipped"
    """Not written, with the reason (e.g. a lead the pipeline never pushed)."""
