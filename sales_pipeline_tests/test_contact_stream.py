"""Normalizing a day's contacts as a stream, a chunk at a time, gives what normalizing them all
at once gives: the same rows, duplicates merged across chunks, quarantine keys by position in
the whole stream, and the count of records read."""

from __future__ import annotations

from pandas.testing import assert_frame_equal

from sales_pipeline.domain.sources import Contact
from sales_pipeline.transforms.contacts import normalize_contact_stream, normalize_contacts
from sales_pipeline_tests.test_transforms import contact


def mixed_day() -> list[Contact]:
    """Good contacts, a duplicate of the first in another casing far down the stream, one
    without an id and one with a broken email."""
    good = [
        contact(str(i), email=f"person{i}@acme.com", firstname=f"Ana {i % 3}") for i in range(1, 9)
    ]
    later = contact("50", email="PERSON1@ACME.COM", jobtitle="VP Sales")
    return [*good, contact(None, email="noid@acme.com"), contact("60", email="not an email"), later]


def test_a_stream_normalized_in_small_chunks_equals_the_whole_day_at_once():
    records = mixed_day()

    whole_valid, whole_quarantined = normalize_contacts(records)
    day = normalize_contact_stream(iter(records), chunk_size=3)

    assert_frame_equal(day.contacts, whole_valid)
    assert_frame_equal(day.quarantined, whole_quarantined)
    assert day.fetched == len(records)
    assert "row:8" in set(day.quarantined["record_key"])
    assert day.contacts.set_index("hubspot_id").loc["1", "merged_ids"] == "50"


def test_an_empty_stream_gives_empty_frames_with_their_columns():
    day = normalize_contact_stream(iter([]))

    assert day.fetched == 0
    assert day.contacts.empty
    assert list(day.contacts.columns)[:2] == ["hubspot_id", "email"]
    assert day.quarantined.empty
