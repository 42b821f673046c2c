"""What the text policy cleaned, the clients send: no value that passed normalization is refused
by a client's pre-send validation (the hostile corpus, then any text at all)."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sales_pipeline.clients.lemlist.leads import lead_body
from sales_pipeline.clients.validation import Validator
from sales_pipeline.domain.text import TextField, clean_text
from sales_pipeline_tests.hostile import CORPUS, Case

LEAD_KEYS = {
    TextField.FIRST_NAME: "firstName",
    TextField.LAST_NAME: "lastName",
    TextField.COMPANY_NAME: "companyName",
    TextField.JOB_TITLE: "jobTitle",
    TextField.PHONE: "phone",
    TextField.LINKEDIN_URL: "linkedinUrl",
    TextField.COMPANY_DOMAIN: "companyDomain",
}
"""Lemlist lead field of each policy field the push sends."""


def _sent(field: str, value: str) -> dict[str, str]:
    lead: dict[str, object] = {"email": "ana@acme.com", "variables": {}}
    if field in LEAD_KEYS:
        lead[LEAD_KEYS[TextField(field)]] = value
    else:
        lead["variables"] = {"segment": value}
    return lead_body(Validator("lemlist", "add_lead_to_campaign"), lead)


@pytest.mark.parametrize(
    "case",
    [c for c in CORPUS if c.field in LEAD_KEYS or c.field is TextField.LEMLIST_VARIABLE],
    ids=lambda case: case.name,
)
def test_every_cleaned_corpus_value_is_accepted_by_lemlist(case: Case) -> None:
    cleaned = clean_text(case.raw, case.field)
    if cleaned is not None:
        assert cleaned in _sent(case.field, cleaned).values()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    value=st.text(max_size=120),
    field=st.sampled_from([*LEAD_KEYS, TextField.LEMLIST_VARIABLE]),
)
def test_any_cleaned_text_is_accepted_by_lemlist(value: str, field: str) -> None:
    cleaned = clean_text(value, field)
    if cleaned is not None:
        assert cleaned in _sent(field, cleaned).values()
