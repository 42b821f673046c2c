"""What the emulated Lemlist team holds, and the rules that guard it.

One :class:`LemlistStore` per sandbox (rebuilt on reset). Every public method takes the store's
lock, so the threaded server can call them concurrently. Time comes from the sandbox clock:
activities and the unsubscribes they cause are planned when a lead is added and become visible
once ``clock.now()`` reaches them.
"""

from __future__ import annotations

import bisect
import random
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from itertools import islice
from typing import Any

from sales_pipeline.sandbox.core.clock import Clock
from sales_pipeline.sandbox.core.world import World

from .model import (
    DAY,
    STANDARD_FIELDS,
    Activity,
    Campaign,
    Hook,
    JsonDict,
    Lead,
    LemlistError,
    Unsubscribe,
    email_domain,
    is_valid_email,
    is_valid_linkedin_url,
    iso_date,
    lemlist_id,
    plan_timeline,
)

CAMPAIGNS: tuple[tuple[str, str, tuple[str, ...], tuple[str, ...]], ...] = (
    ("Outbound EU - Directors", "running", ("Outbound", "EU"), ()),
    ("Outbound US - VPs", "running", ("Outbound", "US"), ()),
    ("Founders", "paused", ("Founders",), ()),
    ("Nurture", "draft", (), ("Your campaign does not have sender.",)),
)
"""The team's campaigns at start: name, status, labels, errors."""

UNSUBSCRIBED_PEOPLE_SHARE = 0.01
"""Share of the world's people on the unsubscribe list at start."""

GRAVEYARD = "Email address is in the graveyard"


def _activity_key(activity: Activity) -> tuple[float, int]:
    """Order of the activity list: by time, ties in planning order."""
    return activity.at, activity.seq


def _activity_at(activity: Activity) -> float:
    """Bisection key of the activity list by time."""
    return activity.at


def _unsubscribe_key(entry: Unsubscribe) -> tuple[float, str]:
    """Order of the unsubscribe list: by time, ties by id."""
    return entry.at, entry.id


def _unsubscribe_at(entry: Unsubscribe) -> float:
    """Bisection key of the unsubscribe list by time."""
    return entry.at


@dataclass(frozen=True)
class ActivityQuery:
    """Filters and page of ``GET /activities``; dates are epoch seconds."""

    type: str | None = None
    campaign_id: str | None = None
    lead_id: str | None = None
    is_first: bool | None = None
    min_date: float | None = None
    max_date: float | None = None
    offset: int = 0
    limit: int = 100

    def accepts(self, activity: Activity) -> bool:
        """Whether ``activity`` passes the filters (dates excepted: the caller bisects)."""
        return (
            (self.type is None or activity.type == self.type)
            and (self.campaign_id is None or activity.lead.campaign.id == self.campaign_id)
            and (self.lead_id is None or activity.lead.id == self.lead_id)
            and (self.is_first is None or activity.is_first == self.is_first)
        )


class LemlistStore:
    """Campaigns, leads, activities, the unsubscribe list and webhooks of one team."""

    def __init__(self, world: World, clock: Clock) -> None:
        self._seed = world.seed
        self._clock = clock
        self._lock = threading.Lock()
        self._team_id = lemlist_id("tea", self._seed, "team")
        self._owner_id = lemlist_id("usr", self._seed, "owner")
        self._campaigns: dict[str, Campaign] = {}
        self._leads_by_campaign: dict[str, dict[str, Lead]] = {}
        self._leads_by_email: dict[str, list[Lead]] = {}
        self._leads_by_id: dict[str, Lead] = {}
        self._generations: Counter[tuple[str, str]] = Counter()
        self._activities: list[Activity] = []
        self._version = 0
        """Bumped by every change to activities or unsubscribes (keys ``_matches``)."""
        self._matches: tuple[tuple[object, ...], list[Activity]] | None = None
        """The last activity query's matches, so paging through it costs O(page)."""
        self._activity_seq = 0
        self._unsubscribes: list[Unsubscribe] = []
        self._candidates: dict[str, list[Unsubscribe]] = {}
        self._first_at: dict[str, float] = {}
        self._hooks: dict[str, Hook] = {}
        self._hook_count = 0
        self._unfolded_through: tuple[float, int] = (float("-inf"), 0)
        """The (time, sequence) of the last activity offered to the webhooks."""
        self._added = 0
        self._removed = 0
        self._refused: Counter[str] = Counter()
        self._seed_campaigns(world)
        self._seed_unsubscribes(world)

    def _seed_campaigns(self, world: World) -> None:
        """The four campaigns of :data:`CAMPAIGNS`, created 5 to 120 days before the world."""
        rng = random.Random(f"lemlist-campaigns|{self._seed}")
        start = world.now.timestamp()
        for index, (name, status, labels, errors) in enumerate(CAMPAIGNS):
            campaign = Campaign(
                id=lemlist_id("cam", self._seed, "campaign", index),
                name=name,
                status=status,
                labels=list(labels),
                created_at=start - rng.uniform(5, 120) * DAY,
                created_by=self._owner_id,
                team_id=self._team_id,
                sequence_id=lemlist_id("seq", self._seed, "campaign", index),
                errors=list(errors),
            )
            self._campaigns[campaign.id] = campaign
            self._leads_by_campaign[campaign.id] = {}

    def _seed_unsubscribes(self, world: World) -> None:
        """About 1% of people, two whole company domains, and a bounced company's people."""
        rng = random.Random(f"lemlist-unsubscribes|{self._seed}")
        start = world.now.timestamp()

        def add(value: str, source: str) -> None:
            at = start - rng.uniform(1, 365) * DAY
            self._add_candidate(Unsubscribe(self._unsubscribe_id(value), value, source, at))

        count = max(1, round(len(world.people) * UNSUBSCRIBED_PEOPLE_SHARE))
        for person in rng.sample(world.people, min(count, len(world.people))):
            add(person.email.lower(), rng.choice(("lead", "user")))
        *domain_wide, bounced = rng.sample(world.companies, 3)
        for company in domain_wide:
            add("@" + company.domain.lower(), "user")
        for person in world.people:
            if person.company is bounced:
                add(person.email.lower(), "bounce")

    def _unsubscribe_id(self, value: str, *extra: object) -> str:
        """A deterministic ``uns_`` id for ``value`` (``extra`` tells repeated entries apart)."""
        return lemlist_id("uns", self._seed, value, *extra)

    def _campaign(self, campaign_id: str) -> Campaign:
        """The campaign; 404 "Campaign not found"."""
        campaign = self._campaigns.get(campaign_id)
        if campaign is None:
            raise LemlistError(404, "Campaign not found")
        return campaign

    # -- the unsubscribe list -------------------------------------------------------------

    def _add_candidate(self, entry: Unsubscribe) -> None:
        """Record an entry (now or planned); the earliest per value is the one that counts."""
        self._version += 1
        self._candidates.setdefault(entry.value, []).append(entry)
        bisect.insort(self._unsubscribes, entry, key=_unsubscribe_key)
        self._first_at[entry.value] = min(entry.at, self._first_at.get(entry.value, entry.at))

    def _drop_candidate(self, entry: Unsubscribe) -> None:
        """Cancel a planned entry; a later one for the same value may take over."""
        self._version += 1
        candidates = self._candidates[entry.value]
        candidates.remove(entry)
        self._unsubscribes.remove(entry)
        if candidates:
            self._first_at[entry.value] = min(c.at for c in candidates)
        else:
            del self._candidates[entry.value]
            del self._first_at[entry.value]

    def _effective(self, value: str) -> Unsubscribe | None:
        """The earliest entry for ``value``, visible or still planned."""
        candidates = self._candidates.get(value)
        return min(candidates, key=_unsubscribe_key) if candidates else None

    def _visible(self, value: str, now: float) -> Unsubscribe | None:
        """The entry for ``value`` if it is on the list at ``now``."""
        entry = self._effective(value)
        return entry if entry is not None and entry.at <= now else None

    def _suppressed_at(self, lead: Lead) -> float | None:
        """When the lead's address (or its domain) went or goes on the unsubscribe list."""
        by_email = self._first_at.get(lead.email_key)
        by_domain = self._first_at.get(lead.domain_key)
        if by_email is None or by_domain is None:
            return by_domain if by_email is None else by_email
        return min(by_email, by_domain)

    def _visible_unsubscribes(self, now: float) -> Iterator[Unsubscribe]:
        """The list at ``now``, oldest first, one entry per value."""
        end = bisect.bisect_right(self._unsubscribes, now, key=_unsubscribe_at)
        for entry in self._unsubscribes[:end]:
            if self._effective(entry.value) is entry:
                yield entry

    def unsubscribes(self, offset: int, limit: int) -> list[JsonDict]:
        """A page of the visible unsubscribe list, oldest first."""
        with self._lock:
            entries = self._visible_unsubscribes(self._clock.now())
            return [entry.record() for entry in islice(entries, offset, offset + limit)]

    def unsubscribe(self, value: str) -> JsonDict:
        """Put an email or ``@domain`` on the list now (idempotent); ``POST /unsubscribes``."""
        with self._lock:
            now = self._clock.now()
            entry = self._visible(value, now)
            if entry is None:
                entry = Unsubscribe(self._unsubscribe_id(value, now), value, "api", now)
                self._add_candidate(entry)
            answer: JsonDict = {"_id": entry.id, "value": entry.value}
            if not value.startswith("@"):
                answer["email"] = value
            return answer

    def find_unsubscribe(self, value: str) -> JsonDict:
        """The visible entry for ``value``; 404 "Unsubscriber not found" otherwise."""
        with self._lock:
            entry = self._visible(value, self._clock.now())
            if entry is None:
                raise LemlistError(404, "Unsubscriber not found")
            return entry.record()

    # -- leads ----------------------------------------------------------------------------

    def add_lead(self, campaign_id: str, body: dict[str, Any], deduplicate: bool) -> JsonDict:
        """Add one lead to a campaign and plan its timeline; the ``POST`` answer.

        Refusals, in the order checked: 404 unknown campaign; 400 "No valid fields to add"
        (empty body); 400 ``"<key>" must be a string``; 400 "Invalid email address"; 400
        "Invalid LinkedIn URL"; 400 "Lead already in the campaign"; 400 "Email address is in
        the graveyard" (address or domain on the unsubscribe list); 409 "Lead already in other
        campaign" (``deduplicate`` only).
        """
        with self._lock:
            try:
                return self._add_lead(campaign_id, body, deduplicate)
            except LemlistError as refusal:
                self._refused[refusal.message] += 1
                raise

    def _add_lead(self, campaign_id: str, body: dict[str, Any], deduplicate: bool) -> JsonDict:
        """:meth:`add_lead` without the lock and the refusal count."""
        campaign = self._campaign(campaign_id)
        if not body:
            raise LemlistError(400, "No valid fields to add")
        for key, value in body.items():
            if not isinstance(value, str):
                raise LemlistError(400, f'"{key}" must be a string')
        email = body.get("email", "").strip()
        if not is_valid_email(email):
            raise LemlistError(400, "Invalid email address")
        linkedin = body.get("linkedinUrl")
        if linkedin and not is_valid_linkedin_url(linkedin):
            raise LemlistError(400, "Invalid LinkedIn URL")
        key = email.lower()
        now = self._clock.now()
        if key in self._leads_by_campaign[campaign.id]:
            raise LemlistError(400, "Lead already in the campaign")
        if self._visible(key, now) or self._visible(email_domain(key), now):
            raise LemlistError(400, GRAVEYARD)
        if deduplicate and self._leads_by_email.get(key):
            raise LemlistError(409, "Lead already in other campaign")
        generation = self._generations[(campaign.id, key)]
        self._generations[(campaign.id, key)] += 1
        lead = Lead(
            id=lemlist_id("lea", self._seed, campaign.id, key, generation),
            contact_id=lemlist_id("ctc", self._seed, key),
            campaign=campaign,
            email=email,
            fields={k: v for k, v in body.items() if k in STANDARD_FIELDS and k != "email"},
            variables={k: v for k, v in body.items() if k not in STANDARD_FIELDS},
            added_at=now,
        )
        self._leads_by_campaign[campaign.id][key] = lead
        self._leads_by_email.setdefault(key, []).append(lead)
        self._leads_by_id[lead.id] = lead
        if campaign.status == "running":
            self._plan(lead)
        self._added += 1
        return lead.record()

    def _plan(self, lead: Lead) -> None:
        """Schedule the lead's activities (and the unsubscribe one of them may cause)."""
        self._version += 1
        seen: set[str] = set()
        for index, step in enumerate(plan_timeline(self._seed, lead.email_key)):
            self._activity_seq += 1
            activity = Activity(
                at=lead.added_at + step.offset,
                seq=self._activity_seq,
                id=lemlist_id("act", self._seed, lead.id, index),
                type=step.type,
                sequence_step=step.sequence_step,
                is_first=step.type not in seen,
                lead=lead,
            )
            seen.add(step.type)
            lead.timeline.append(activity)
            bisect.insort(self._activities, activity, key=_activity_key)
            if step.type == "emailsUnsubscribed":
                entry_id = self._unsubscribe_id(lead.email_key, lead.id)
                self._add_candidate(
                    Unsubscribe(entry_id, lead.email_key, "lead", activity.at, lead.id)
                )

    def _cancel_after(self, lead: Lead, moment: float) -> None:
        """Forget the lead's activities (and planned unsubscribes) later than ``moment``."""
        self._version += 1
        cancelled = {activity.id for activity in lead.timeline if activity.at > moment}
        if cancelled:
            lead.timeline = [a for a in lead.timeline if a.id not in cancelled]
            self._activities = [a for a in self._activities if a.id not in cancelled]
        for entry in list(self._candidates.get(lead.email_key, [])):
            if entry.lead_id == lead.id and entry.at > moment:
                self._drop_candidate(entry)

    def _lead_state(self, lead: Lead, now: float) -> str:
        """The type of the lead's latest visible activity, ``scanned`` before any."""
        if lead.unsubscribed_at is not None:
            return "unsubscribed"
        visible = self._visible_timeline(lead, now)
        return visible[-1].type if visible else "scanned"

    def _visible_timeline(self, lead: Lead, now: float) -> list[Activity]:
        """The lead's activities that happened by ``now`` (none after its address left)."""
        suppressed = self._suppressed_at(lead)
        return [
            activity
            for activity in lead.timeline
            if activity.at <= now and (suppressed is None or activity.at <= suppressed)
        ]

    @staticmethod
    def _lead_status(lead: Lead, now: float) -> str:
        """``review`` until its first email, ``inSequence`` meanwhile, ``done`` after the last."""
        if not lead.timeline or lead.timeline[0].at > now:
            return "review"
        return "done" if lead.timeline[-1].at <= now else "inSequence"

    def lead_memberships(self, email: str) -> list[JsonDict]:
        """``GET /leads/{email}?version=v2``: every campaign the address is in, oldest first."""
        with self._lock:
            now = self._clock.now()
            return [
                {
                    "_id": lead.id,
                    "updatedAt": iso_date(self._updated_at(lead, now)),
                    "isPaused": False,
                    "state": self._lead_state(lead, now),
                    "status": self._lead_status(lead, now),
                    "personalized": False,
                    "source": "api",
                    "variables": lead.all_variables(),
                    "contactId": lead.contact_id,
                    "enrichment": {},
                    "campaign": {
                        "id": lead.campaign.id,
                        "name": lead.campaign.name,
                        "status": lead.campaign.status,
                    },
                    "sendingUser": {},
                }
                for lead in self._memberships(email)
            ]

    def latest_lead(self, email: str) -> JsonDict:
        """``GET /leads/{email}`` without ``version=v2``: the most recently added membership."""
        with self._lock:
            lead = self._memberships(email)[-1]
            return {**lead.record(), "state": self._lead_state(lead, self._clock.now())}

    def _memberships(self, email: str) -> list[Lead]:
        """The address's leads, oldest first; 404 "Lead not found"."""
        leads = self._leads_by_email.get(email.strip().lower())
        if not leads:
            raise LemlistError(404, "Lead not found")
        return leads

    def _updated_at(self, lead: Lead, now: float) -> float:
        """The latest of: added, last visible activity, unsubscribed from the campaign."""
        visible = self._visible_timeline(lead, now)
        return max(lead.added_at, lead.unsubscribed_at or 0.0, visible[-1].at if visible else 0.0)

    def campaign_leads(self, campaign_id: str, state: str | None, limit: int) -> list[JsonDict]:
        """``GET /campaigns/{id}/leads/``: up to ``limit`` leads, optionally in ``state``."""
        with self._lock:
            leads = self._leads_by_campaign[self._campaign(campaign_id).id].values()
            now = self._clock.now()
            answer: list[JsonDict] = []
            for lead in leads:
                if len(answer) == limit:
                    break
                lead_state = self._lead_state(lead, now)
                if state is None or lead_state == state:
                    answer.append(
                        {"_id": lead.id, "contactId": lead.contact_id, "state": lead_state}
                    )
            return answer

    def delete_lead(self, campaign_id: str, lead_key: str, remove: bool) -> JsonDict:
        """Unsubscribe a lead (by id or email) from a campaign, or delete it when ``remove``.

        Unsubscribing stops its sequence (later activities never happen) but keeps the lead in
        the campaign; removing deletes it with its activities. 404 "Lead not found".
        """
        with self._lock:
            leads = self._leads_by_campaign[self._campaign(campaign_id).id]
            lead = self._leads_by_id.get(lead_key) if lead_key.startswith("lea_") else None
            lead = lead or leads.get(lead_key.strip().lower())
            if lead is None or lead.campaign.id != campaign_id:
                raise LemlistError(404, "Lead not found")
            now = self._clock.now()
            if remove:
                self._cancel_after(lead, float("-inf"))
                del leads[lead.email_key]
                del self._leads_by_id[lead.id]
                self._leads_by_email[lead.email_key].remove(lead)
                if not self._leads_by_email[lead.email_key]:
                    del self._leads_by_email[lead.email_key]
                self._removed += 1
            elif lead.unsubscribed_at is None:
                self._cancel_after(lead, now)
                lead.unsubscribed_at = now
            return lead.record()

    # -- activities -----------------------------------------------------------------------

    def activities(self, query: ActivityQuery) -> list[JsonDict]:
        """A page of visible activities, oldest first.

        An activity is visible once the clock reaches it, unless the address went on the
        unsubscribe list before it happened (Lemlist stops emailing the graveyard).
        """
        with self._lock:
            now = self._clock.now()
            end_at = now if query.max_date is None else min(now, query.max_date)
            start = (
                0
                if query.min_date is None
                else bisect.bisect_left(self._activities, query.min_date, key=_activity_at)
            )
            end = bisect.bisect_right(self._activities, end_at, key=_activity_at)
            key = (self._version, replace(query, offset=0, limit=0), start, end)
            if self._matches is None or self._matches[0] != key:
                chosen = [
                    activity
                    for activity in islice(self._activities, start, end)
                    if query.accepts(activity) and not self._suppressed(activity)
                ]
                self._matches = (key, chosen)
            page = self._matches[1][query.offset : query.offset + query.limit]
            return [activity.record() for activity in page]

    def _suppressed(self, activity: Activity) -> bool:
        """Whether the activity falls after its address went on the unsubscribe list."""
        suppressed = self._suppressed_at(activity.lead)
        return suppressed is not None and activity.at > suppressed

    # -- campaigns and hooks --------------------------------------------------------------

    def campaigns(self, keep: Callable[[Campaign], bool]) -> list[JsonDict]:
        """Campaign summaries that ``keep`` accepts, oldest first."""
        with self._lock:
            chosen = [c for c in self._campaigns.values() if keep(c)]
            return [c.summary() for c in sorted(chosen, key=lambda c: c.created_at)]

    def campaign(self, campaign_id: str) -> JsonDict:
        """One campaign in detail; 404 "Campaign not found"."""
        with self._lock:
            return self._campaign(campaign_id).detail()

    def hooks(self) -> list[JsonDict]:
        """Every webhook, oldest first."""
        with self._lock:
            return [hook.record() for hook in self._hooks.values()]

    def add_hook(
        self,
        target_url: str,
        hook_type: str | None,
        campaign_id: str | None,
        is_first: bool,
        secret: str | None,
    ) -> JsonDict:
        """Register a webhook (validated by the caller but for its campaign)."""
        with self._lock:
            if campaign_id is not None:
                self._campaign(campaign_id)
            self._hook_count += 1
            hook = Hook(
                id=lemlist_id("hoo", self._seed, "hook", self._hook_count),
                target_url=target_url,
                type=hook_type,
                campaign_id=campaign_id,
                is_first=is_first,
                secret=secret,
                created_at=self._clock.now(),
            )
            self._hooks[hook.id] = hook
            return hook.record()

    def unfolded_hooks(self) -> list[tuple[str, JsonDict]]:
        """(target URL, payload) for each hook and each activity that happened since the last
        call, oldest first: Lemlist's webhooks fire as a lead's timeline unfolds. An activity
        after the address went on the unsubscribe list never happens, so it fires nothing."""
        with self._lock:
            start = bisect.bisect_right(self._activities, self._unfolded_through, key=_activity_key)
            end = bisect.bisect_right(self._activities, self._clock.now(), key=_activity_at)
            if end <= start:
                return []
            self._unfolded_through = _activity_key(self._activities[end - 1])
            return [
                (hook.target_url, hook.payload(activity))
                for activity in self._activities[start:end]
                if not self._suppressed(activity)
                for hook in self._hooks.values()
                if hook.accepts(activity)
            ]

    def delete_hook(self, hook_id: str) -> JsonDict:
        """Forget a webhook; 404 "Webhook not found"."""
        with self._lock:
            hook = self._hooks.pop(hook_id, None)
            if hook is None:
                raise LemlistError(404, "Webhook not found")
            return hook.record()

    # -- control plane --------------------------------------------------------------------

    def state(self) -> JsonDict:
        """Campaigns with their leads, the visible unsubscribe list and the webhooks."""
        with self._lock:
            now = self._clock.now()
            return {
                "campaigns": [
                    {
                        "_id": campaign.id,
                        "name": campaign.name,
                        "status": campaign.status,
                        "leads": [
                            {
                                "_id": lead.id,
                                "contactId": lead.contact_id,
                                "email": lead.email,
                                "state": self._lead_state(lead, now),
                                "addedAt": iso_date(lead.added_at),
                                "fields": dict(lead.fields),
                                "customVariables": dict(lead.variables),
                            }
                            for lead in self._leads_by_campaign[campaign.id].values()
                        ],
                    }
                    for campaign in self._campaigns.values()
                ],
                "unsubscribes": [entry.record() for entry in self._visible_unsubscribes(now)],
                "hooks": [
                    {**hook.record(), "hasSecret": hook.secret is not None}
                    for hook in self._hooks.values()
                ],
            }

    def stats(self) -> JsonDict:
        """Counters for ``/_sandbox/stats``."""
        with self._lock:
            now = self._clock.now()
            end = bisect.bisect_right(self._activities, now, key=_activity_at)
            return {
                "leads_added": self._added,
                "leads_removed": self._removed,
                "leads_refused": dict(self._refused),
                "activities_visible": sum(not self._suppressed(a) for a in self._activities[:end]),
                "unsubscribes": sum(1 for _ in self._visible_unsubscribes(now)),
                "hooks": len(self._hooks),
            }
