"""When outstanding work is tried again, and when it is given up.

Work a run could not finish (deferred enrichment, a push Lemlist could not take, a writeback
HubSpot refused for a transient reason, a claim whose run died) is kept in the store with the
time of its next attempt. :class:`RetrySchedule` decides that time: exponential backoff from
``first_delay`` doubling per attempt up to ``max_delay``, and gives the work up after
``max_attempts`` attempts or once it is ``max_age`` old, whichever comes first (Segment gives
up after 5 syncs or 14 days; here 8 attempts or 14 days by default).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class RetrySchedule:
    """Backoff between attempts and the cap after which work is given up."""

    first_delay: timedelta = timedelta(minutes=15)
    max_delay: timedelta = timedelta(hours=24)
    max_attempts: int = 8
    max_age: timedelta = timedelta(days=14)

    def __post_init__(self) -> None:
        """Refuse a schedule that could never retry or never give up."""
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.first_delay < timedelta(0) or self.max_delay < self.first_delay:
            raise ValueError("need 0 <= first_delay <= max_delay")

    def next_attempt(self, attempts: int, now: datetime) -> datetime:
        """When work that has failed ``attempts`` times (>= 1) is due again."""
        delay = self.first_delay * (1 << max(attempts - 1, 0))
        return now + min(delay, self.max_delay)

    def exhausted(self, attempts: int, first_seen: datetime, now: datetime) -> bool:
        """Whether work that failed ``attempts`` times since ``first_seen`` is given up."""
        return attempts >= self.max_attempts or now - first_seen >= self.max_age

    def give_up_reason(self, attempts: int, reason: str | None) -> str:
        """The reason recorded for given-up work: how often it was tried and the last error."""
        return f"given up after {attempts} attempts: {reason or 'no reason recorded'}"
