"""Lemlist's records as the sandbox keeps them: ids, dates, validation rules and lead timelines.

Pure data and pure functions; :mod:`.store` holds the mutable state and
:mod:`.api` the HTTP surface.
"""

from __future__ import annotations

import hashlib
import random
import re
import string
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

JsonDict = dict[str, Any]

HOUR = 3600.0
DAY = 86_400.0

STANDARD_FIELDS = (
    "email",
    "firstName",
    "lastName",
    "companyName",
    "jobTitle",
    "linkedinUrl",
    "picture",
    "phone",
    "companyDomain",
    "icebreaker",
    "timezone",
    "contactOwner",
)
"""Body keys Lemlist knows; any other key of an added lead is a custom variable."""

HOOK_TYPES = frozenset(
    {
        "contacted", "hooked", "attracted", "warmed", "interested", "notInterested",
        "emailsSent", "emailsOpened", "emailsClicked", "emailsReplied", "emailsBounced",
        "emailsFailed", "emailsInterested", "emailsNotInterested", "emailsUnsubscribed",
        "linkedinSent", "linkedinOpened", "linkedinReplied", "linkedinInterested",
        "linkedinNotInterested", "linkedinSendFailed", "linkedinVisitDone",
        "linkedinVisitFailed", "linkedinFollowDone", "linkedinFollowFailed",
        "linkedinFollowSkipped", "linkedinInviteDone", "linkedinInviteFailed",
        "linkedinInviteAccepted", "linkedinEndorseDone", "linkedinEndorseFailed",
        "linkedinEndorseSkipped", "linkedinVoiceNoteDone", "linkedinVoiceNoteFailed",
        "linkedinLikeLastPostDone", "linkedinLikeLastPostNoPost", "linkedinLikeLastPostFailed",
        "linkedinWithdrawInvitationDone", "linkedinWithdrawInvitationFailed",
        "whatsappMessageSent", "whatsappMessageDelivered", "whatsappMessageOpened",
        "whatsappReplied", "whatsappMessageFailed", "smsSent", "smsDelivered", "smsReplied",
        "smsFailed", "aircallCreated", "aircallEnded", "aircallDone", "aircallInterested",
        "aircallNotInterested", "apiDone", "apiInterested", "apiNotInterested", "apiFailed",
        "manualInterested", "manualNotInterested", "paused", "resumed", "stopped",
        "campaignComplete", "customDomainErrors", "connectionIssue", "sendLimitReached",
        "lemwarmPaused", "annotated", "enrichmentDone", "enrichmentError",
        "callRecordingDone", "callTranscriptDone", "inboxLabelUpdated", "signalRegistered",
        "deliverabilityAlertTriggered",
    }
)  # fmt: skip
"""The webhook ``type`` enum of Lemlist's OpenAPI document (``POST /hooks``)."""

BOUNCE_RATE = 0.05
UNSUBSCRIBE_RATE = 0.03
OPEN_RATE = 0.55
CLICK_RATE = 0.3
REPLY_RATE = 0.3
INTERESTED_RATE = 0.5
FOLLOW_UP_OPEN_RATE = 0.4

_ALPHABET = string.digits + string.ascii_letters
_EMAIL = re.compile(
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@([A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?\.)+[A-Za-z]{2,}"
)
_LINKEDIN = re.compile(
    r"(https?://)?([a-z]{2,3}\.)?linkedin\.com/(in|pub|sales/lead|sales/people)/[^\s/?#]+/?"
    r"([?#]\S*)?",
    re.IGNORECASE,
)
_DOMAIN = re.compile(r"@([A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?\.)+[A-Za-z]{2,}")
_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


class LemlistError(Exception):
    """A refusal Lemlist answers as ``text/plain``: ``status`` and the body ``message``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def lemlist_id(prefix: str, *parts: object) -> str:
    """A Lemlist-style id (``cam_`` + 17 alphanumerics), a pure function of its arguments."""
    digest = hashlib.sha256("|".join(str(part) for part in (prefix, *parts)).encode()).digest()
    number = int.from_bytes(digest, "big")
    chars = []
    for _ in range(17):
        number, index = divmod(number, len(_ALPHABET))
        chars.append(_ALPHABET[index])
    return f"{prefix}_{''.join(chars)}"


def iso_date(epoch: float) -> str:
    """``2025-10-28T08:07:38.375Z``: how Lemlist writes ``createdAt``."""
    moment = datetime.fromtimestamp(epoch, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def js_date(epoch: float) -> str:
    """JavaScript's ``Date.toString()`` in UTC, as Lemlist sends ``X-RateLimit-Reset``.

    For example ``Tue Feb 16 2021 08:02:42 GMT+0000 (Coordinated Universal Time)``.
    """
    moment = datetime.fromtimestamp(epoch, UTC)
    return (
        f"{_WEEKDAYS[moment.weekday()]} {_MONTHS[moment.month - 1]} {moment.day:02d} "
        f"{moment.year} {moment:%H:%M:%S} GMT+0000 (Coordinated Universal Time)"
    )


def parse_date(text: str) -> float:
    """Epoch seconds from a Unix timestamp in seconds or an ISO 8601 date (naive means UTC).

    Raises ``ValueError`` for anything else.
    """
    try:
        return float(text)
    except ValueError:
        moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def is_valid_email(text: str) -> bool:
    """Whether ``text`` is a plausible single address (``x@y`` without a TLD is not)."""
    return _EMAIL.fullmatch(text) is not None


def is_valid_linkedin_url(text: str) -> bool:
    """Whether ``text`` is a LinkedIn profile URL (``linkedin.com/in/<slug>`` and kin)."""
    return _LINKEDIN.fullmatch(text) is not None


def is_valid_unsubscribe_value(text: str) -> bool:
    """Whether ``text`` may go on the unsubscribe list: an email or ``@domain.tld``."""
    return is_valid_email(text) or _DOMAIN.fullmatch(text) is not None


def email_domain(email_key: str) -> str:
    """``@domain`` of a lower-cased address: the form of a domain-wide unsubscribe."""
    return "@" + email_key.rpartition("@")[2]


@dataclass
class Campaign:
    """One campaign; only ``running`` campaigns send emails (and so produce activities)."""

    id: str
    name: str
    status: str
    labels: list[str]
    created_at: float
    created_by: str
    team_id: str
    sequence_id: str
    errors: list[str] = field(default_factory=list)

    def summary(self) -> JsonDict:
        """An item of ``GET /campaigns``."""
        return {
            "_id": self.id,
            "name": self.name,
            "labels": list(self.labels),
            "createdAt": iso_date(self.created_at),
            "createdBy": self.created_by,
            "status": self.status,
            "hasError": bool(self.errors),
            "errors": list(self.errors),
        }

    def detail(self) -> JsonDict:
        """The answer of ``GET /campaigns/{campaignId}``."""
        return {
            **self.summary(),
            "sequenceId": self.sequence_id,
            "teamId": self.team_id,
            "creator": {"userId": self.created_by, "userEmail": "owner@sandbox-team.example.com"},
            "senders": [],
        }


@dataclass(frozen=True)
class Step:
    """One planned event of a lead's timeline, ``offset`` seconds after it was added."""

    type: str
    offset: float
    sequence_step: int | None


def plan_timeline(seed: int, email_key: str) -> list[Step]:
    """What happens to a lead once added to a running campaign, by offset from that moment.

    A pure function of ``seed`` and the lower-cased email, so the same person behaves the same
    in every campaign and every run: the first email goes out after an hour; about 5% bounce,
    about 3% open it and unsubscribe a day later; the others may open (+2h), click, reply
    (+1 day, then ``interested`` or ``notInterested``); those who do not reply get a follow-up
    (step 1) three days later, which they may open.
    """
    rng = random.Random(f"lemlist-timeline|{seed}|{email_key}")
    sent = Step("emailsSent", HOUR, 0)
    opened = Step("emailsOpened", 3 * HOUR, 0)
    if rng.random() < BOUNCE_RATE:
        return [sent, Step("emailsBounced", HOUR + 120, 0)]
    if rng.random() < UNSUBSCRIBE_RATE:
        return [sent, opened, Step("emailsUnsubscribed", DAY + HOUR, 0)]
    steps = [sent]
    if rng.random() < OPEN_RATE:
        steps.append(opened)
        if rng.random() < CLICK_RATE:
            steps.append(Step("emailsClicked", 3 * HOUR + 600, 0))
        if rng.random() < REPLY_RATE:
            verdict = "interested" if rng.random() < INTERESTED_RATE else "notInterested"
            return [
                *steps,
                Step("emailsReplied", DAY + HOUR, 0),
                Step(verdict, DAY + 3 * HOUR, None),
            ]
    steps.append(Step("emailsSent", 3 * DAY + HOUR, 1))
    if rng.random() < FOLLOW_UP_OPEN_RATE:
        steps.append(Step("emailsOpened", 3 * DAY + 3 * HOUR, 1))
    return steps


@dataclass(eq=False)
class Lead:
    """A person in one campaign. ``fields`` holds the standard keys but ``email``."""

    id: str
    contact_id: str
    campaign: Campaign
    email: str
    fields: dict[str, str]
    variables: dict[str, str]
    added_at: float
    timeline: list[Activity] = field(default_factory=list)
    unsubscribed_at: float | None = None
    """When ``DELETE /campaigns/{id}/leads/{lead}`` unsubscribed it from the campaign."""
    email_key: str = field(init=False)
    """The address as Lemlist compares it: trimmed and lower-cased."""
    domain_key: str = field(init=False)
    """``@domain`` of the address, as a domain-wide unsubscribe names it."""

    def __post_init__(self) -> None:
        """Derive the comparison keys once: they are read on every activity query."""
        self.email_key = self.email.strip().lower()
        self.domain_key = email_domain(self.email_key)

    def record(self) -> JsonDict:
        """The lead as ``POST``/``DELETE`` on campaign leads answer it.

        Custom variables sit at the top level beside the standard fields; they can never
        shadow the lead's own keys (``_id``, ``campaignId``, ...).
        """
        return {
            **self.fields,
            **self.variables,
            "campaignId": self.campaign.id,
            "campaignName": self.campaign.name,
            "email": self.email,
            "_id": self.id,
            "isPaused": False,
            "contactId": self.contact_id,
        }

    def all_variables(self) -> dict[str, str]:
        """Standard fields, email and custom variables in one mapping (``variables`` in v2)."""
        return {**self.fields, "email": self.email, **self.variables}


@dataclass(eq=False)
class Activity:
    """One event of a lead's timeline; visible once the sandbox clock reaches ``at``."""

    at: float
    seq: int
    id: str
    type: str
    sequence_step: int | None
    is_first: bool
    lead: Lead

    def record(self) -> JsonDict:
        """An item of ``GET /activities?version=v2``."""
        lead, campaign = self.lead, self.lead.campaign
        answer: JsonDict = {
            "_id": self.id,
            "type": self.type,
            "isFirst": self.is_first,
            "bot": False,
            "createdAt": iso_date(self.at),
            "teamId": campaign.team_id,
            "leadId": lead.id,
            "contactId": lead.contact_id,
            "leadEmail": lead.email,
            "campaignId": campaign.id,
            "campaignName": campaign.name,
            "name": campaign.name,
            "sequenceId": campaign.sequence_id,
        }
        for key, source in (
            ("leadFirstName", "firstName"),
            ("leadLastName", "lastName"),
            ("leadCompanyName", "companyName"),
        ):
            if source in lead.fields:
                answer[key] = lead.fields[source]
        if self.sequence_step is not None:
            answer["sequenceStep"] = self.sequence_step
        return answer


@dataclass(eq=False)
class Unsubscribe:
    """An entry of the unsubscribe list (Lemlist's "graveyard"): an email or ``@domain``.

    ``lead_id`` names the lead whose timeline will put it there (``source`` ``lead``), so
    removing that lead before ``at`` cancels it.
    """

    id: str
    value: str
    source: str
    at: float
    lead_id: str | None = None

    def record(self) -> JsonDict:
        """An item of ``GET /unsubscribes``."""
        return {
            "_id": self.id,
            "createdAt": iso_date(self.at),
            "value": self.value,
            "source": self.source,
        }


@dataclass
class Hook:
    """A registered webhook: it receives every activity its filters accept, as it happens."""

    id: str
    target_url: str
    type: str | None
    campaign_id: str | None
    is_first: bool
    secret: str | None
    created_at: float

    def accepts(self, activity: Activity) -> bool:
        """Whether ``activity`` is sent to this hook: its type, campaign and first-of-its-type
        filters, when set, all match."""
        return (
            (self.type is None or self.type == activity.type)
            and (self.campaign_id is None or self.campaign_id == activity.lead.campaign.id)
            and (not self.is_first or activity.is_first)
        )

    def payload(self, activity: Activity) -> JsonDict:
        """What the hook posts: the activity record, with the hook's ``secret`` when it has
        one (Lemlist signs nothing; the receiver compares this field)."""
        record = activity.record()
        if self.secret is not None:
            record["secret"] = self.secret
        return record

    def record(self) -> JsonDict:
        """The webhook as ``/hooks`` answers it; the secret is never sent back."""
        answer: JsonDict = {
            "_id": self.id,
            "targetUrl": self.target_url,
            "createdAt": iso_date(self.created_at),
        }
        if self.type:
            answer["type"] = self.type
        if self.campaign_id:
            answer["campaignId"] = self.campaign_id
        if self.is_first:
            answer["isFirst"] = True
        return answer
