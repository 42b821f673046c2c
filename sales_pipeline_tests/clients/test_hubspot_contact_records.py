"""HubSpot contact objects read into the pipeline's `Contact`: names mapped, fallbacks taken,
unreadable values reported rather than guessed."""

from datetime import UTC, datetime

from sales_pipeline.clients.hubspot import CONTACT_PROPERTIES, read_contact
from sales_pipeline.domain.sources import Contact


def test_hubspot_names_become_the_pipelines() -> None:
    record = {
        "id": "42",
        "properties": {
            "email": "ana@acme.com",
            "firstname": "Ana",
            "lastname": "Silva",
            "company": "Acme",
            "jobtitle": "CTO",
            "phone": "+49 30 1234",
            "country": "Germany",
            "hs_email_optout": " TRUE ",
            "lastmodifieddate": "2025-07-07T10:00:00.000Z",
        },
    }
    assert read_contact(record) == Contact(
        id="42",
        email="ana@acme.com",
        first_name="Ana",
        last_name="Silva",
        company="Acme",
        job_title="CTO",
        phone="+49 30 1234",
        country="Germany",
        opted_out=True,
        modified_at=datetime(2025, 7, 7, 10, tzinfo=UTC),
    )
    assert set(record["properties"]) == set(CONTACT_PROPERTIES)


def test_the_id_and_the_time_fall_back_to_hs_object_id_and_updated_at() -> None:
    contact = read_contact(
        {"properties": {"hs_object_id": "7"}, "updatedAt": "2025-07-06T08:00:00"}
    )
    assert (contact.id, contact.modified_at, contact.opted_out) == (
        "7",
        datetime(2025, 7, 6, 8, tzinfo=UTC),
        False,
    )


def test_unreadable_values_are_reported_not_guessed() -> None:
    contact = read_contact(
        {"id": "1", "properties": {"hs_email_optout": "maybe", "lastmodifieddate": "last tuesday"}}
    )
    assert (contact.opted_out, contact.modified_at) == (False, None)
    assert contact.unreadable == (
        ("opted_out", "invalid: expected true or false"),
        ("modified_at", "invalid: not an ISO 8601 timestamp"),
    )
