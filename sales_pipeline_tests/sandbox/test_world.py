"""The generated world is deterministic and as messy as a real CRM."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

from sales_pipeline.sandbox.core.world import LONG_STRING, build_world

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def test_same_seed_builds_the_same_world() -> None:
    first = build_world(seed=3, contacts=500, now=NOW)
    second = build_world(seed=3, contacts=500, now=NOW)
    assert [c.properties for c in first.contacts] == [c.properties for c in second.contacts]
    assert first.people == second.people


def test_another_seed_builds_another_world() -> None:
    first = build_world(seed=3, contacts=200, now=NOW)
    other = build_world(seed=4, contacts=200, now=NOW)
    assert [c.properties for c in first.contacts] != [c.properties for c in other.contacts]


def test_contacts_spread_over_the_last_thirty_days() -> None:
    world = build_world(contacts=2000, now=NOW)
    modified = [
        datetime.fromisoformat(c.properties["lastmodifieddate"] or "") for c in world.contacts
    ]
    assert min(modified) >= NOW - timedelta(days=30)
    assert max(modified) < NOW
    days = {moment.date() for moment in modified}
    assert len(days) >= 29


def test_contacts_carry_the_messiness_of_real_crms() -> None:
    world = build_world(contacts=5000, now=NOW)
    props = [c.properties for c in world.contacts]
    emails = [p["email"] for p in props]
    assert sum(e is None for e in emails) > 50
    assert sum(e is not None and ("@" not in e or e.endswith("@")) for e in emails) > 10
    by_lower = Counter(e.lower() for e in emails if e and "@" in e)
    twins = [e for e in emails if e and by_lower[e.lower()] > 1 and e != e.lower()]
    assert twins, "the same person twice with another email casing"
    assert any("<script>" in (p["firstname"] or "") for p in props)
    assert any(p["jobtitle"] == LONG_STRING for p in props)
    assert any(not (p["firstname"] or "a").isascii() for p in props)
    assert sum(p["hs_email_optout"] == "true" for p in props) > 100
    assert any(p["company"] is None for p in props)
    assert all(isinstance(v, str) or v is None for p in props for v in p.values())


def test_explorium_knows_most_people_but_not_all() -> None:
    world = build_world(contacts=4000, now=NOW, match_rate=0.75)
    known = sum(p.known for p in world.people) / len(world.people)
    assert 0.6 < known < 0.8


def test_bulk_import_day_shares_one_timestamp() -> None:
    world = build_world(contacts=100, bulk_import=300, now=NOW)
    stamps = Counter(c.properties["lastmodifieddate"] for c in world.contacts)
    stamp, count = stamps.most_common(1)[0]
    assert count == 300
    assert stamp == "2026-11-17T02:00:00.000Z"
