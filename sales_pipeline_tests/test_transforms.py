"""Pure transforms: HubSpot normalization, Explorium records as rows, enrichment, scoring,
routing."""

import dataclasses
import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd
import pytest
from pydantic import ValidationError

from sales_pipeline.clients.hubspot import read_contact
from sales_pipeline.domain.outcomes import EmailStatus, ExclusionReason
from sales_pipeline.domain.sources import (
    Contact,
    ContactInformation,
    Firmographics,
    ProspectProfile,
)
from sales_pipeline.domain.text import clean_text
from sales_pipeline.transforms.contacts import normalize_contacts
from sales_pipeline.transforms.enrichment import (
    business_domain,
    confidence_score,
    enrich_contacts,
    enrichment_cache_entries,
    enrichment_from_cache,
    enrichment_records,
    enrichment_row,
)
from sales_pipeline.transforms.explorium import company_rows, contact_rows, profile_rows
from sales_pipeline.transforms.masking import mask_email, masked_sample
from sales_pipeline.transforms.qualification import QualificationRules, icp_score, qualify, route
from sales_pipeline.transforms.schemas import CompanyFacts, ContactDetails, Profiles, validated

NOW = datetime(2025, 7, 7, 12, 0, tzinfo=UTC)
PID_ANA = "a" * 40
PID_BOB = "b" * 40
BID_ACME = "c" * 32
LONG = "A" * 10_240


def plain(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with every null as None, so rows compare with plain Python values."""
    return frame.astype(object).where(frame.notna(), None)


def hubspot_object(record_id: str | None, **properties: str | None) -> dict[str, Any]:
    """A HubSpot contact object; unset properties are null, as HubSpot sends them."""
    defaults: dict[str, str | None] = {
        "email": f"person{record_id}@acme.com",
        "firstname": "Ana",
        "lastname": "Silva",
        "company": "Acme",
        "jobtitle": "VP Sales",
        "phone": None,
        "country": "Germany",
        "hs_email_optout": "false",
        "lastmodifieddate": "2025-07-07T10:00:00.000Z",
    }
    return {"id": record_id, "properties": {**defaults, **properties}}


def contact(record_id: str | None, **properties: str | None) -> Contact:
    """A HubSpot contact as its client hands it on (see :func:`hubspot_object`)."""
    return read_contact(hubspot_object(record_id, **properties))


def ana_profile(**overrides: Any) -> ProspectProfile:
    """Ana's profile as the Explorium client returns it."""
    return dataclasses.replace(
        ProspectProfile(
            job_title="VP of Sales",
            job_level="vice president",
            job_department="sales",
            company_name="Acme",
            company_website="https://www.acme.com/about",
            country="germany",
            linkedin_url="https://www.linkedin.com/in/ana-silva",
        ),
        **overrides,
    )


ACME = Firmographics(
    name="Acme GmbH",
    website="https://acme.com",
    company_size="201-500",
    yearly_revenue_range="25M-75M",
    industry="Software Development",
    country="germany",
)


def as_frame(model: Any, rows: Mapping[str, Mapping[str, Any]], key: str) -> pd.DataFrame:
    """Rows keyed by id as ``model``'s frame, validated: the rows keep the stage's contract."""
    return validated(model, pd.DataFrame([{key: name, **row} for name, row in rows.items()]))


# HubSpot contacts ------------------------------------------------------------------------------


def test_emails_are_trimmed_and_lower_cased() -> None:
    valid, quarantined = normalize_contacts([contact("1", email="  Ana.Silva@ACME.com \t")])
    assert valid["email"].tolist() == ["ana.silva@acme.com"]
    assert quarantined.empty


@pytest.mark.parametrize(
    ("email", "reason"),
    [
        (None, "missing"),
        ("   ", "missing"),
        ("not-an-email", "invalid: not_an_email_address"),
        ("john@", "invalid: not_an_email_address"),
        ("@example.com", "invalid: formula_start"),
        ("a b@example.com", "invalid: not_an_email_address"),
        ("x@@y.com", "invalid: not_an_email_address"),
        ("x@y", "invalid: not_an_email_address"),
        ("=cmd@example.com", "invalid: formula_start"),
        ("ana\u202e@example.com", "invalid: control_characters"),
        ("josé@café.fr", "invalid: not_an_email_address"),
        (f"{'a' * 250}@acme.com", "invalid: too_long"),
    ],
)
def test_missing_or_invalid_email_is_quarantined(email: str | None, reason: str) -> None:
    valid, quarantined = normalize_contacts([contact("7", email=email), contact("8")])
    assert valid["hubspot_id"].tolist() == ["8"]
    assert quarantined[["record_key", "field", "reason"]].values.tolist() == [
        ["7", "email", reason]
    ]


def test_same_person_in_different_casing_is_merged_into_the_latest_record() -> None:
    records = [
        contact("10", email="Ana@Acme.com", phone="+49 30 1234", lastmodifieddate="2025-07-01"),
        contact("11", email="ana@acme.com", jobtitle=None, lastmodifieddate="2025-07-07T09:00Z"),
        contact("12", email="ANA@ACME.COM", jobtitle="CEO", lastmodifieddate="2025-07-03"),
    ]
    valid, quarantined = normalize_contacts(records)
    assert quarantined.empty
    row = valid.iloc[0]
    assert len(valid) == 1
    assert (row["hubspot_id"], row["merged_ids"]) == ("11", "12,10")
    assert (row["job_title"], row["phone"]) == ("CEO", "+49 30 1234")
    assert row["modified_at"] == pd.Timestamp("2025-07-07T09:00Z")


def test_duplicates_modified_at_the_same_moment_keep_the_lowest_id() -> None:
    records = [contact("10", email="ana@acme.com"), contact("9", email="Ana@acme.com")]
    valid, _ = normalize_contacts(records)
    assert valid[["hubspot_id", "merged_ids"]].values.tolist() == [["9", "10"]]


def test_an_opt_out_on_any_duplicate_opts_the_person_out() -> None:
    records = [
        contact("1", email="ana@acme.com", hs_email_optout="true", lastmodifieddate="2025-01-01"),
        contact("2", email="ANA@acme.com", hs_email_optout="false"),
        contact("3", hs_email_optout="TRUE"),
        contact("4", hs_email_optout=None),
    ]
    valid, _ = normalize_contacts(records)
    assert dict(zip(valid["hubspot_id"], valid["opted_out"], strict=True)) == {
        "2": True,
        "3": True,
        "4": False,
    }


def test_an_unreadable_opt_out_is_quarantined_not_guessed() -> None:
    valid, quarantined = normalize_contacts([contact("1", hs_email_optout="maybe")])
    assert valid.empty
    assert quarantined[["field", "reason"]].values.tolist() == [
        ["opted_out", "invalid: expected true or false"]
    ]


def test_unicode_names_are_kept_and_composed() -> None:
    decomposed = "Jose\u0301"
    records = [
        contact("1", firstname=decomposed, lastname="Øvergård"),
        contact("2", firstname="王芳", lastname="Yılmaz"),  # noqa: RUF001 (a Turkish name)
    ]
    valid, _ = normalize_contacts(records)
    assert valid[["first_name", "last_name"]].values.tolist() == [
        ["José", "Øvergård"],
        ["王芳", "Yılmaz"],  # noqa: RUF001 (a Turkish name)
    ]


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("<script>alert(1)</script>", None),
        ("<script>alert('x')</script>Anna", "Anna"),
        ("<SCRIPT type='text/javascript'>steal()</SCRIPT> Bob", "Bob"),
        ("<b>Carla</b>", "Carla"),
        ('David<img src=x onerror="alert(1)">', "David"),
        ("&lt;script&gt;alert(1)&lt;/script&gt;Emma", "Emma"),
        ("<scr<script>x</script>ipt>alert(1)</script>Farid", "Farid"),
        ("<script>never closed", None),
        ("  Grace \n\t Hopper\x00 ", "Grace Hopper"),
        ("AT&amp;T", "AT&T"),
    ],
)
def test_markup_and_control_characters_are_removed(raw: str, clean: str | None) -> None:
    assert clean_text(raw, "first_name") == clean


def test_a_script_only_name_becomes_null_and_the_contact_stays() -> None:
    valid, quarantined = normalize_contacts([contact("1", firstname="<script>alert(1)</script>")])
    assert valid["first_name"].isna().tolist() == [True]
    assert quarantined.empty


def test_a_ten_kilobyte_value_quarantines_the_contact_with_a_small_masked_copy() -> None:
    valid, quarantined = normalize_contacts([contact("5", jobtitle=LONG), contact("6")])
    assert valid["hubspot_id"].tolist() == ["6"]
    assert quarantined[["record_key", "field", "reason"]].values.tolist() == [
        ["5", "job_title", "too_long: 10240 characters, limit 200"]
    ]
    masked = json.loads(quarantined["masked_record_json"].iloc[0])
    assert masked["job_title"] == f"{'A' * 64}... (10240 characters)"
    assert len(quarantined["masked_record_json"].iloc[0]) < 1_000


def test_text_arrow_cannot_hold_is_cleaned_or_quarantined_not_a_crash() -> None:
    """Lone surrogates and NULs are valid in a Python string but not in an Arrow-backed one:
    the raw text reaches pandas' str dtype only once the policy has cleaned or refused it."""
    surrogates = "\ud800\x00"
    valid, quarantined = normalize_contacts(
        [
            contact("1", firstname=f"Ana{surrogates}", company=f"{surrogates}Acme"),
            contact("2", email=f"bob{surrogates}@acme.com"),
            contact(f"3{surrogates}", email="carol@acme.com"),
        ]
    )

    assert valid[["hubspot_id", "first_name", "company"]].values.tolist() == [["1", "Ana", "Acme"]]
    assert quarantined[["record_key", "field", "reason"]].values.tolist() == [
        ["2", "email", "invalid: control_characters"],
        ["3\\ud800\\u0000", "id", "invalid: control or unprintable characters"],
    ]
    assert json.loads(quarantined["masked_record_json"].iloc[1])["id"] == "3\\ud800\\u0000"
    text = valid.drop(columns=["opted_out", "modified_at"]).dtypes
    assert set(text.astype(str)) == {"str"}


def test_quarantined_records_carry_no_raw_personal_data() -> None:
    record = contact(
        "5", email="ana.silva@acme", firstname="Ana", lastname="Silva", phone="+49 30 123456"
    )
    _, quarantined = normalize_contacts([record])
    masked = json.loads(quarantined["masked_record_json"].iloc[0])
    assert (masked["email"], masked["first_name"], masked["last_name"], masked["phone"]) == (
        "a***@a***",
        "A***",
        "S***",
        "***56",
    )
    assert "silva" not in quarantined["masked_record_json"].iloc[0].lower()


def test_null_and_absent_properties_become_nulls() -> None:
    sparse = read_contact(
        {
            "id": "1",
            "properties": {"email": "ana@acme.com", "lastmodifieddate": "2025-07-07T10:00:00Z"},
        }
    )
    nulls = contact("2", firstname=None, lastname=None, company=None, jobtitle=None, country=None)
    valid, quarantined = normalize_contacts([sparse, nulls])
    assert quarantined.empty
    text = ["first_name", "last_name", "company", "job_title", "phone", "country"]
    assert valid[text].isna().all().all()
    assert valid["opted_out"].tolist() == [False, False]


def test_a_record_without_id_or_modification_time_is_quarantined() -> None:
    records = [
        read_contact({"properties": {"email": "ana@acme.com", "lastmodifieddate": "2025-07-07"}}),
        contact("2", lastmodifieddate=None),
        contact("3", lastmodifieddate="last tuesday"),
        read_contact(
            {**hubspot_object("4", lastmodifieddate=None), "updatedAt": "2025-07-06T08:00:00Z"}
        ),
    ]
    valid, quarantined = normalize_contacts(records)
    assert valid["hubspot_id"].tolist() == ["4"]
    assert valid["modified_at"].tolist() == [pd.Timestamp("2025-07-06T08:00:00Z")]
    assert quarantined[["record_key", "field", "reason"]].values.tolist() == [
        ["row:0", "id", "missing"],
        ["2", "modified_at", "missing"],
        ["3", "modified_at", "invalid: not an ISO 8601 timestamp"],
    ]


def test_every_faulty_field_of_a_record_is_reported() -> None:
    _, quarantined = normalize_contacts([contact("1", email=None, firstname=LONG)])
    assert quarantined[["field", "reason"]].values.tolist() == [
        ["email", "missing"],
        ["first_name", "too_long: 10240 characters, limit 100"],
    ]


def test_every_input_record_is_valid_merged_or_quarantined() -> None:
    records = [
        contact("1"),
        contact("2", email="PERSON1@acme.com", lastmodifieddate="2025-07-01"),
        contact("3", email=None),
        contact("4", email="bad"),
        contact("5", jobtitle=LONG),
        contact("6", firstname="<script>x</script>"),
        contact("7", firstname="Zoë", hs_email_optout="true"),
        contact("8", company=None, phone=None),
    ]
    valid, quarantined = normalize_contacts(records)
    merged = valid["merged_ids"].dropna().str.split(",").explode()
    places = [*valid["hubspot_id"], *merged, *quarantined["record_key"].unique()]
    assert sorted(places) == [str(i) for i in range(1, 9)]


def test_no_contacts_give_empty_frames() -> None:
    valid, quarantined = normalize_contacts([])
    assert (len(valid), len(quarantined)) == (0, 0)
    assert "email" in valid.columns


# Masking ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("email", "masked"),
    [
        ("john.doe@example.com", "j***@e***.com"),
        ("ana@mail.acme.co.uk", "a***@m***.uk"),
        ("x@localhost", "x***@l***"),
        ("not-an-email", "n***"),
        (None, None),
    ],
)
def test_mask_email_keeps_only_initials_and_top_level_domain(
    email: str | None, masked: str | None
) -> None:
    assert mask_email(email) == masked


def test_masked_sample_masks_personal_columns_only() -> None:
    frame = pd.DataFrame(
        {
            "email": ["ana@acme.com", "bob@beta.io", "cy@gamma.org"],
            "first_name": ["Ana", None, "Cy"],
            "phone": ["+49 30 1234", None, None],
            "icp_score": [0.9, 0.5, 0.1],
        }
    )
    sample = masked_sample(frame, 2)
    assert plain(sample).to_dict("list") == {
        "email": ["a***@a***.com", "b***@b***.io"],
        "first_name": ["A***", None],
        "phone": ["***34", None],
        "icp_score": [0.9, 0.5],
    }
    assert frame["email"].iloc[0] == "ana@acme.com"


# Explorium records as rows ---------------------------------------------------------------------


def test_contact_rows_normalize_the_professional_email() -> None:
    rows = contact_rows(
        {
            PID_ANA: ContactInformation("Ana@Acme.com ", EmailStatus.VALID, "+4915112345678"),
            PID_BOB: ContactInformation(),
        }
    )
    assert rows == {
        PID_ANA: {
            "professional_email": "ana@acme.com",
            "professional_email_verification": "valid",
            "phone": "+4915112345678",
        },
        PID_BOB: {
            "professional_email": None,
            "professional_email_verification": None,
            "phone": None,
        },
    }
    assert len(as_frame(ContactDetails, rows, "prospect_id")) == 2


def test_no_records_give_no_rows() -> None:
    assert profile_rows({}) == {}


def test_profiles_lower_case_levels_and_take_a_domain_from_the_website() -> None:
    rows = profile_rows(
        {
            PID_ANA: ana_profile(job_level="Vice President"),
            PID_BOB: ProspectProfile(job_level="CXO", company_website="not a website"),
        }
    )
    assert rows == {
        PID_ANA: {
            "job_title": "VP of Sales",
            "job_level": "vice president",
            "job_department": "sales",
            "company_name": "Acme",
            "company_domain": "acme.com",
            "country": "germany",
            "linkedin_url": "https://www.linkedin.com/in/ana-silva",
        },
        PID_BOB: {
            "job_title": None,
            "job_level": "cxo",
            "job_department": None,
            "company_name": None,
            "company_domain": None,
            "country": None,
            "linkedin_url": None,
        },
    }
    assert len(as_frame(Profiles, rows, "prospect_id")) == 2


def test_vendor_text_is_cleaned_and_cut_to_the_column_limit() -> None:
    rows = profile_rows({PID_ANA: ana_profile(job_title=f"<b>{LONG}</b>", company_name="  ")})
    assert rows[PID_ANA]["job_title"] == "A" * 200
    assert rows[PID_ANA]["company_name"] is None


def test_company_rows_give_size_revenue_industry_and_domain() -> None:
    rows = company_rows({BID_ACME: ACME})
    assert rows == {
        BID_ACME: {
            "company_name": "Acme GmbH",
            "company_domain": "acme.com",
            "company_size": "201-500",
            "yearly_revenue_range": "25M-75M",
            "industry": "Software Development",
            "country": "germany",
        }
    }
    assert len(as_frame(CompanyFacts, rows, "business_id")) == 1


# Enrichment ------------------------------------------------------------------------------------


def answer_rows(enriched_at: datetime = NOW) -> list[dict[str, Any]]:
    """Enrichment rows of ana@acme.com (matched, valid), bob@gmail.com (matched, his work email
    differs) and ghost@acme.com (unmatched)."""
    reach = contact_rows(
        {
            PID_ANA: ContactInformation("ana@acme.com", EmailStatus.VALID),
            PID_BOB: ContactInformation("bob@beta.io", EmailStatus.VALID),
        }
    )
    people = profile_rows(
        {
            PID_ANA: ana_profile(),
            PID_BOB: ana_profile(company_website=None, company_name="Beta", country=None),
        }
    )
    firms = company_rows({BID_ACME: ACME})
    businesses = {"acme.com": BID_ACME}
    rows = []
    for email, pid in [
        ("ana@acme.com", PID_ANA),
        ("bob@gmail.com", PID_BOB),
        ("ghost@acme.com", None),
    ]:
        profile = people.get(pid) if pid else None
        domain = business_domain(email, profile)
        business_id = businesses.get(domain) if domain else None
        rows.append(
            enrichment_row(
                email,
                pid,
                reach.get(pid) if pid else None,
                profile,
                domain,
                business_id,
                firms.get(business_id) if business_id else None,
                enriched_at,
            )
        )
    return rows


@pytest.fixture
def fresh() -> pd.DataFrame:
    """:func:`answer_rows` as this run's enrichment."""
    return enrichment_records(answer_rows())


def test_business_domains_come_from_the_profile_else_a_non_free_mail_address() -> None:
    people = profile_rows({PID_ANA: ana_profile(), PID_BOB: ana_profile(company_website=None)})
    assert [
        business_domain("ana@acme.com", people[PID_ANA]),
        business_domain("bob@gmail.com", people[PID_BOB]),
        business_domain("ghost@acme.com", None),
        business_domain("odd@localhost", None),
    ] == ["acme.com", None, "acme.com", None]


def test_combined_enrichment_has_one_row_per_email(fresh: pd.DataFrame) -> None:
    combined = plain(fresh).set_index("email")
    ana, bob, ghost = (combined.loc[e] for e in ["ana@acme.com", "bob@gmail.com", "ghost@acme.com"])
    assert (ana["match_status"], ana["business_id"], ana["company_name"]) == (
        "matched",
        BID_ACME,
        "Acme GmbH",
    )
    assert (ana["company_size"], ana["job_level"], ana["email_status"]) == (
        "201-500",
        "vice president",
        "valid",
    )
    assert (bob["email_status"], bob["company_name"], bob["business_id"]) == (
        "unknown",
        "Beta",
        None,
    )
    assert bob["country"] is None
    assert (ghost["match_status"], ghost["prospect_id"], ghost["company_size"]) == (
        "unmatched",
        None,
        "201-500",
    )
    assert combined["enriched_at"].tolist() == [pd.Timestamp(NOW)] * 3


def test_enrichment_survives_the_cache_round_trip(fresh: pd.DataFrame) -> None:
    entries = enrichment_cache_entries(answer_rows())
    assert all(json.dumps(entry.payload, allow_nan=False) for entry in entries)
    assert entries[2].payload["job_title"] is None
    pd.testing.assert_frame_equal(enrichment_from_cache(iter(entries)), fresh)


def test_cache_entries_missing_newer_fields_read_as_nulls() -> None:
    entry = enrichment_cache_entries(answer_rows())[0]
    old = dataclasses.replace(entry, payload={"job_title": "CEO"})
    frame = enrichment_from_cache([old])
    assert (frame["job_title"].iloc[0], frame["email_status"].iloc[0]) == ("CEO", "unknown")
    assert pd.isna(frame["company_size"].iloc[0])


def _contacts(*records: Contact) -> pd.DataFrame:
    valid, _ = normalize_contacts(list(records))
    return valid


def test_enrichment_status_tells_fresh_cached_unmatched_and_deferred_apart(
    fresh: pd.DataFrame,
) -> None:
    contacts = _contacts(
        contact("1", email="ana@acme.com"),
        contact("2", email="ghost@acme.com"),
        contact("3", email="cached@acme.com"),
        contact("4", email="new@acme.com"),
    )
    stale_ana = fresh[fresh["email"] == "ana@acme.com"].assign(job_title="Old title")
    cached = pd.concat(
        [stale_ana, fresh[fresh["email"] == "ana@acme.com"].assign(email="cached@acme.com")]
    )
    enriched = enrich_contacts(contacts, NOW, fresh=fresh, cached=cached).set_index("email")
    assert enriched["enrichment_status"].to_dict() == {
        "ana@acme.com": "enriched",
        "cached@acme.com": "cached",
        "ghost@acme.com": "unmatched",
        "new@acme.com": "deferred",
    }
    assert enriched.loc["ana@acme.com", "job_title"] == "VP of Sales"
    assert enriched["enriched_at"].isna().to_dict() == {
        "ana@acme.com": False,
        "cached@acme.com": False,
        "ghost@acme.com": False,
        "new@acme.com": True,
    }


def test_explorium_down_defers_every_contact() -> None:
    enriched = enrich_contacts(_contacts(contact("1"), contact("2")), NOW)
    assert enriched["enrichment_status"].tolist() == ["deferred", "deferred"]
    assert enriched["email_status"].tolist() == ["unknown", "unknown"]


def test_explorium_values_win_except_for_the_phone(
    fresh: pd.DataFrame,
) -> None:
    contacts = _contacts(
        contact("1", email="ana@acme.com", jobtitle="Sales", country="DE", phone="+49 30 123456"),
        contact("2", email="ghost@acme.com", jobtitle="Founder", country="France", company="Gh"),
    )
    enriched = enrich_contacts(contacts, NOW, fresh=fresh).set_index("email")
    ana = enriched.loc["ana@acme.com"]
    assert [ana["job_title"], ana["country"], ana["phone"], ana["company"]] == [
        "VP of Sales",
        "germany",
        "+49 30 123456",
        "Acme",
    ]
    ghost = enriched.loc["ghost@acme.com"]
    assert [ghost["job_title"], ghost["country"], ghost["company_name"]] == [
        "Founder",
        "germany",
        "Acme GmbH",
    ]


# Confidence ------------------------------------------------------------------------------------


def _scored(**columns: Any) -> pd.DataFrame:
    full = {
        "email_status": "valid",
        "job_title": "VP",
        "job_level": "vice president",
        "company_name": "Acme",
        "company_domain": "acme.com",
        "job_department": "sales",
        "company_size": "51-200",
        "country": "germany",
        "linkedin_url": "https://linkedin.com/in/a",
        "enriched_at": pd.Timestamp(NOW),
        "modified_at": pd.Timestamp(NOW - timedelta(days=400)),
    }
    return pd.DataFrame([{**full, **columns}])


def test_a_verified_complete_fresh_record_has_full_confidence() -> None:
    assert confidence_score(_scored(), NOW).tolist() == [pytest.approx(1.0)]


def test_confidence_follows_email_verification() -> None:
    scores = [
        confidence_score(_scored(email_status=status), NOW).iloc[0]
        for status in ["valid", "catch-all", "unknown", "invalid"]
    ]
    assert scores == sorted(scores, reverse=True)
    assert scores[0] - scores[3] == pytest.approx(0.45)


def test_missing_important_fields_cost_more_than_minor_ones() -> None:
    without_level = confidence_score(_scored(job_level=None), NOW).iloc[0]
    without_linkedin = confidence_score(_scored(linkedin_url=None), NOW).iloc[0]
    assert without_level == pytest.approx(1 - 0.35 * 3 / 16)
    assert without_linkedin == pytest.approx(1 - 0.35 * 1 / 16)


def test_freshness_halves_every_ninety_days() -> None:
    aged = confidence_score(_scored(enriched_at=pd.Timestamp(NOW - timedelta(days=90))), NOW)
    assert aged.iloc[0] == pytest.approx(1 - 0.20 * 0.5)


def test_never_enriched_records_age_from_their_last_modification() -> None:
    frame = _scored(enriched_at=pd.NaT, modified_at=pd.Timestamp(NOW - timedelta(days=180)))
    assert confidence_score(frame, NOW).iloc[0] == pytest.approx(1 - 0.20 * 0.75)


# Qualification ---------------------------------------------------------------------------------

RULES_YAML = """
threshold: 0.5
job_level: {weight: 3, values: {C-Suite: 1, vice president: 0.9, director: 0.6}}
department: {weight: 2, values: [sales, marketing]}
company_size: {weight: 2, values: {"201-500": 1, "51-200": 0.5}}
country: {weight: 1, values: [Germany, united states]}
allowed_email_statuses: [valid, catch-all]
segments:
  - {name: executives, campaign_id: cam_exec, job_level: [c-suite, vice president], min_score: 0.8}
  - {name: germany, campaign_id: cam_de, country: [germany]}
default_campaign_id: cam_general
"""


@pytest.fixture
def rules() -> QualificationRules:
    return QualificationRules.from_yaml(RULES_YAML)


def _lead(email: str, **columns: Any) -> dict[str, Any]:
    """One complete EnrichedContacts row: an enriched German VP of Sales at a 201-500 company."""
    return {
        "hubspot_id": email.split("@")[0],
        "email": email,
        "first_name": "Ana",
        "last_name": "Silva",
        "company": "Acme",
        "job_title": "VP Sales",
        "phone": None,
        "country": "Germany",
        "opted_out": False,
        "modified_at": pd.Timestamp(NOW),
        "merged_ids": None,
        "job_level": "vice president",
        "job_department": "sales",
        "company_name": "Acme",
        "company_domain": "acme.com",
        "company_size": "201-500",
        "yearly_revenue_range": None,
        "industry": None,
        "linkedin_url": None,
        "email_status": "valid",
        "enrichment_status": "enriched",
        "prospect_id": PID_ANA,
        "business_id": None,
        "confidence": 0.9,
        "enriched_at": pd.Timestamp(NOW),
        **columns,
    }


def test_rules_read_lists_as_full_points_and_compare_case_insensitively(
    rules: QualificationRules,
) -> None:
    assert rules.job_level.values == {"c-suite": 1.0, "vice president": 0.9, "director": 0.6}
    assert rules.department.values == {"sales": 1.0, "marketing": 1.0}
    assert rules.model_validate(rules.model_dump()) == rules


@pytest.mark.parametrize(
    "broken",
    [
        {"threshold": 0.5},
        {"threshold": 1.5, "country": {"weight": 1, "values": ["germany"]}},
        {"threshold": 0.5, "country": {"weight": 1, "values": {"germany": 2}}},
        {"threshold": 0.5, "country": {"weight": 1, "values": []}, "segment": []},
        {
            "threshold": 0.5,
            "country": {"weight": 1, "values": []},
            "segments": [{"name": "a", "campaign_id": "c1"}, {"name": "a", "campaign_id": "c2"}],
        },
        {
            "threshold": 0.5,
            "country": {"weight": 1, "values": []},
            "allowed_email_statuses": ["deliverable"],
        },
    ],
    ids=["no-weight", "threshold>1", "points>1", "unknown-key", "same-segment", "bad-status"],
)
def test_inconsistent_rules_are_refused(broken: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        QualificationRules.model_validate(broken)


def test_icp_score_is_the_weighted_mean_of_points(rules: QualificationRules) -> None:
    frame = pd.DataFrame(
        [
            _lead("a@x.io"),
            _lead("b@x.io", job_level="Director", company_size="51-200", country=None),
            _lead("c@x.io", job_level=None, job_department=None, company_size=None, country=None),
        ]
    )
    assert icp_score(frame, rules).tolist() == pytest.approx(
        [(3 * 0.9 + 2 + 2 + 1) / 8, (3 * 0.6 + 2 + 2 * 0.5) / 8, 0.0]
    )


def test_leads_go_to_the_first_matching_segment_else_the_default(
    rules: QualificationRules,
) -> None:
    frame = pd.DataFrame(
        [
            _lead("exec@x.io"),
            _lead("de@x.io", job_level="director"),
            _lead("us@x.io", job_level="director", country="United States"),
        ]
    )
    routed = route(frame, icp_score(frame, rules), rules)
    assert routed.values.tolist() == [
        ["executives", "cam_exec"],
        ["germany", "cam_de"],
        ["default", "cam_general"],
    ]


@pytest.mark.parametrize(
    ("lead", "source", "reason"),
    [
        (_lead("a@x.io", opted_out=True), "lemlist_bounce", ExclusionReason.OPTED_OUT),
        (_lead("a@x.io"), "lemlist_bounce", ExclusionReason.BOUNCED),
        (_lead("a@x.io"), "lemlist_unsubscribe", ExclusionReason.UNSUBSCRIBED),
        (_lead("pushed@x.io"), None, ExclusionReason.ALREADY_PUSHED),
        (
            _lead(
                "a@x.io",
                enrichment_status="deferred",
                email_status="unknown",
                prospect_id=None,
                enriched_at=pd.NaT,
            ),
            None,
            ExclusionReason.ENRICHMENT_DEFERRED,
        ),
        (_lead("a@x.io", email_status="invalid"), None, ExclusionReason.INVALID_EMAIL),
        (_lead("a@x.io", email_status="unknown"), None, ExclusionReason.EMAIL_STATUS_NOT_ALLOWED),
        (
            _lead("a@x.io", job_level="intern", job_department="legal", company_size="1-10"),
            None,
            ExclusionReason.BELOW_THRESHOLD,
        ),
        (_lead("a@x.io", email_status="catch-all"), None, None),
    ],
)
def test_each_exclusion_reason_is_applied(
    rules: QualificationRules, lead: dict[str, Any], source: str | None, reason: str | None
) -> None:
    frame = pd.DataFrame([lead])
    qualified = qualify(frame, rules, pd.Series([source]), pushed={"pushed@x.io"})
    row = qualified.iloc[0]
    assert bool(row["excluded"]) is (reason is not None)
    assert (None if pd.isna(row["exclusion_reason"]) else row["exclusion_reason"]) == reason
    assert pd.isna(row["campaign_id"]) is (reason is not None)


def test_without_a_default_campaign_unrouted_leads_are_excluded(
    rules: QualificationRules,
) -> None:
    no_default = rules.model_copy(update={"default_campaign_id": None})
    frame = pd.DataFrame([_lead("us@x.io", country="united states", job_level="director")])
    qualified = qualify(frame, no_default, pd.Series([None]), pushed=set())
    assert qualified["exclusion_reason"].tolist() == [ExclusionReason.NO_CAMPAIGN]


def test_qualified_leads_keep_their_enriched_columns_and_index(
    fresh: pd.DataFrame, rules: QualificationRules
) -> None:
    contacts = _contacts(contact("1", email="ana@acme.com"), contact("2", email="ghost@acme.com"))
    enriched = enrich_contacts(contacts, NOW, fresh=fresh)
    qualified = qualify(enriched, rules, pd.Series([None, None], index=enriched.index), set())
    columns = ["email", "segment", "campaign_id", "exclusion_reason"]
    assert plain(qualified[columns]).values.tolist() == [
        ["ana@acme.com", "executives", "cam_exec", None],
        ["ghost@acme.com", None, None, "email_status_not_allowed"],
    ]
    assert list(enriched.columns) == list(qualified.columns)[: len(enriched.columns)]
    assert qualified.index.equals(enriched.index)


def test_suppression_sources_must_align_with_the_leads(rules: QualificationRules) -> None:
    frame = pd.DataFrame([_lead("a@x.io"), _lead("b@x.io")], index=[5, 6])
    with pytest.raises(ValueError, match="same index"):
        qualify(frame, rules, pd.Series([None, "lemlist_bounce"]), pushed=set())
