"""Explorium's answers read into typed records: what is taken, what is tolerated, what is
refused as a changed answer."""

from collections.abc import Mapping
from typing import Any

import pytest

from sales_pipeline.clients import (
    ContactInformation,
    EnrichStatus,
    Firmographics,
    MatchStatus,
    ProspectProfile,
    ServerError,
)
from sales_pipeline.clients.explorium.answers import (
    AnswerReader,
    contact_information,
    enrich_results,
    firmographics,
    match_results,
    prospect_profile,
)
from sales_pipeline.clients.explorium.queries import BUSINESS_ID, PROSPECT_ID
from sales_pipeline.domain.outcomes import EmailStatus

PID_ANA = "a" * 40
PID_BOB = "b" * 40
BID_ACME = "c" * 32
READ = AnswerReader("test")


def contact_info(**overrides: Any) -> dict[str, Any]:
    """A contacts-information ``data`` object for ana@acme.com."""
    return {
        "emails": [
            {"address": "ana.personal@gmail.com", "type": "personal"},
            {"address": "ana@acme.com", "type": "professional"},
        ],
        "professions_email": "ana@acme.com",
        "professional_email_status": "valid",
        **overrides,
    }


def profile(**overrides: Any) -> dict[str, Any]:
    """A profile ``data`` object."""
    return {
        "full_name": "Ana Silva",
        "country_name": "germany",
        "company_name": "Acme",
        "company_website": "https://www.acme.com/about",
        "job_title": "VP of Sales",
        "job_department_main": "sales",
        "job_department_array": ["sales"],
        "job_seniority_level": "vp",
        "job_level_main": "vice president",
        "job_level_array": ["vice president"],
        "linkedin": "https://www.linkedin.com/in/ana-silva",
        **overrides,
    }


def firmographics_data(**overrides: Any) -> dict[str, Any]:
    """A firmographics ``data`` object."""
    return {
        "business_id": BID_ACME,
        "name": "Acme GmbH",
        "website": "https://acme.com",
        "country_name": "germany",
        "number_of_employees_range": "201-500",
        "yearly_revenue_range": "25M-75M",
        "linkedin_industry_category": "Software Development",
        **overrides,
    }


def bulk(rows: Mapping[str, Mapping[str, Any] | None]) -> dict[str, Any]:
    """A prospects ``bulk_enrich`` answer: ``{"data": [{"prospect_id": id, "data": {...}}]}``."""
    return {"data": [{"prospect_id": pid, "data": payload} for pid, payload in rows.items()]}


def test_contact_information_takes_the_professional_email_and_its_status() -> None:
    found = contact_information(READ, contact_info(mobile_phone="+4915112345678"))
    assert found == ContactInformation("ana@acme.com", EmailStatus.VALID, "+4915112345678")


def test_contact_information_falls_back_to_the_email_list_and_phone_numbers() -> None:
    data = contact_info(
        professions_email=None,
        emails=[
            {"address": "bob@gmail.com", "type": "personal"},
            {"address": "Bob@Acme.com", "type": "current_professional"},
        ],
        professional_email_status="catch-all",
        phone_numbers=[{"phone_number": "+15550100"}],
        mobile_phone=None,
    )
    found = contact_information(READ, data)
    assert found == ContactInformation("Bob@Acme.com", EmailStatus.CATCH_ALL, "+15550100")


def test_contact_information_tolerates_nulls_and_left_out_keys() -> None:
    sparse = contact_information(READ, {"emails": None, "professional_email_status": None})
    assert sparse == ContactInformation()


@pytest.mark.parametrize(
    "data",
    [
        contact_info(professional_email_status="deliverable"),
        contact_info(emails="ana@acme.com"),
        contact_info(professions_email=["ana@acme.com"]),
        contact_info(phone_numbers=[{"phone_number": 15550100}]),
    ],
    ids=["unknown-status", "emails-not-list", "not-text", "phone-not-text"],
)
def test_a_changed_contact_information_answer_is_refused(data: dict[str, Any]) -> None:
    with pytest.raises(ServerError, match="unexpected answer") as raised:
        contact_information(READ, data)
    assert not raised.value.retryable


def test_profiles_take_the_main_fields() -> None:
    assert prospect_profile(READ, profile()) == ProspectProfile(
        job_title="VP of Sales",
        job_level="vice president",
        job_department="sales",
        company_name="Acme",
        company_website="https://www.acme.com/about",
        country="germany",
        linkedin_url="https://www.linkedin.com/in/ana-silva",
    )


def test_profiles_fall_back_to_arrays_and_seniority_when_main_fields_are_null() -> None:
    arrays = profile(job_level_main=None, job_level_array=["Director"], job_department_main=None)
    seniority = profile(
        job_level_main=None,
        job_level_array=[],
        job_seniority_level="CXO",
        job_department_main=None,
        job_department_array=None,
    )
    assert (
        prospect_profile(READ, arrays).job_level,
        prospect_profile(READ, arrays).job_department,
    ) == (
        "Director",
        "sales",
    )
    assert (
        prospect_profile(READ, seniority).job_level,
        prospect_profile(READ, seniority).job_department,
    ) == ("CXO", None)


def test_profile_arrays_must_be_lists_of_text() -> None:
    with pytest.raises(ServerError, match="job_level_array"):
        prospect_profile(READ, profile(job_level_main=None, job_level_array=[1]))


def test_firmographics_give_size_revenue_industry_and_website() -> None:
    assert firmographics(READ, firmographics_data()) == Firmographics(
        name="Acme GmbH",
        website="https://acme.com",
        company_size="201-500",
        yearly_revenue_range="25M-75M",
        industry="Software Development",
        country="germany",
    )


@pytest.mark.parametrize(
    "data",
    [
        firmographics_data(number_of_employees_range="200-500"),
        firmographics_data(number_of_employees_range=250),
    ],
    ids=["unknown-size", "size-not-text"],
)
def test_a_changed_firmographics_answer_is_refused(data: dict[str, Any]) -> None:
    with pytest.raises(ServerError, match="number_of_employees_range"):
        firmographics(READ, data)


def test_ids_without_data_are_not_found_and_found_ones_carry_their_cost() -> None:
    answer = bulk({PID_ANA: contact_info(), PID_BOB: {}, "d" * 40: None})
    results = enrich_results(
        READ,
        answer,
        [PID_ANA, PID_BOB, "e" * 40],
        "prospect_id",
        PROSPECT_ID,
        contact_information,
        2.0,
    )
    assert [(r.status, r.credits) for r in results] == [
        (EnrichStatus.FOUND, 2.0),
        (EnrichStatus.NOT_FOUND, 0.0),
        (EnrichStatus.NOT_FOUND, 0.0),
    ]


@pytest.mark.parametrize(
    "answer",
    [
        {"data": "none"},
        bulk({"123": contact_info()}),
        {"data": [{"data": contact_info()}]},
        {"data": [{"prospect_id": PID_ANA, "data": ["not", "an", "object"]}]},
    ],
    ids=["list-not-a-list", "id-malformed", "id-missing", "data-not-object"],
)
def test_a_changed_bulk_answer_is_refused(answer: dict[str, Any]) -> None:
    with pytest.raises(ServerError, match="unexpected answer"):
        enrich_results(
            READ, answer, [PID_ANA], "prospect_id", PROSPECT_ID, contact_information, None
        )


def test_match_rows_pair_by_position_else_by_echoed_input() -> None:
    batch = [(0, {"domain": "acme.com"}), (1, {"domain": "beta.io"})]
    rows: list[Mapping[str, Any]] = [{"input": {"domain": "beta.io"}, "business_id": BID_ACME}]
    results = match_results(READ, batch, rows, "business_id", BUSINESS_ID)
    assert [(r.index, r.status, r.entity_id) for r in results] == [
        (0, MatchStatus.FAILED, None),
        (1, MatchStatus.MATCHED, BID_ACME),
    ]


def test_a_malformed_match_id_is_refused() -> None:
    with pytest.raises(ServerError, match="prospect_id"):
        match_results(
            READ,
            [(0, {"email": "ana@acme.com"})],
            [{"prospect_id": "42"}],
            "prospect_id",
            PROSPECT_ID,
        )
