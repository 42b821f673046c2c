"""The text policy: every hostile corpus case meets its fate, each rule holds on its own, and no
value that passed cleaning is ever refused by the pre-send check."""

import ast
import json
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sales_pipeline.clients.hubspot.endpoints import PROPERTY_VALUE_MAX
from sales_pipeline.domain.text import (
    FIELDS,
    FORMULA_TRIGGERS,
    MAX_LENGTHS,
    Kind,
    TextField,
    clean_text,
    email_problem,
    neutralize_formula,
    printable,
    text_length,
    text_problem,
)
from sales_pipeline_tests.hostile import (
    CORPUS,
    EMAILS,
    HUBSPOT_PROPERTIES,
    Case,
    Hostility,
    Outcome,
    hubspot_contacts,
)

DOMAIN = Path(__file__).resolve().parents[2] / "sales_pipeline" / "domain"

EMAIL_REASONS = {
    "missing",
    "control_characters",
    "too_long",
    "formula_start",
    "local_part_too_long",
    "not_an_email_address",
}


# The corpus -------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", CORPUS, ids=lambda case: case.name)
def test_every_corpus_case_meets_its_expected_fate(case: Case) -> None:
    cleaned = clean_text(case.raw, case.field)
    if case.outcome is Outcome.QUARANTINED:
        assert email_problem(case.raw) == case.expected
        assert cleaned is None
    elif case.outcome is Outcome.DROPPED:
        assert cleaned is None
    else:
        assert cleaned == case.expected
    assert text_problem(cleaned, case.field) is None


@pytest.mark.parametrize(
    "case", [c for c in CORPUS if c.outcome is Outcome.KEPT], ids=lambda case: case.name
)
def test_real_values_survive_byte_for_byte(case: Case) -> None:
    cleaned = clean_text(case.raw, case.field)
    assert cleaned is not None
    assert cleaned.encode("utf-8") == (case.expected or "").encode("utf-8")


def test_the_corpus_names_are_unique_and_cover_every_field_and_outcome() -> None:
    assert len({case.name for case in CORPUS}) == len(CORPUS)
    assert {case.field for case in CORPUS} == set(TextField)
    assert {case.outcome for case in CORPUS} == set(Outcome)


def test_hubspot_contacts_have_unique_addresses_except_the_email_cases() -> None:
    contacts = hubspot_contacts(domain="corpus.example.com")
    emails = [properties["email"] for _, properties in contacts]
    assert len(set(emails)) == len(emails)
    for case, properties in contacts:
        assert properties[HUBSPOT_PROPERTIES[case.field]] == case.raw
        if case.field is not TextField.EMAIL:
            assert email_problem(properties["email"]) is None
    assert {case.name for case, _ in contacts} == {
        case.name for case in CORPUS if case.field in HUBSPOT_PROPERTIES
    }


@pytest.mark.parametrize(
    "case",
    [c for c in CORPUS if c.hostility is Hostility.LONE_SURROGATE],
    ids=lambda case: case.name,
)
def test_lone_surrogates_that_break_the_transport_are_encodable_once_cleaned(case: Case) -> None:
    with pytest.raises(UnicodeEncodeError):
        json.dumps({"value": case.raw}, ensure_ascii=False).encode("utf-8")
    cleaned = clean_text(case.raw, case.field)
    assert json.dumps({"value": cleaned}, ensure_ascii=False).encode("utf-8")


# One rule at a time -----------------------------------------------------------------------------


def test_text_is_composed_to_nfc() -> None:
    assert clean_text("Rene\u0301", "first_name") == "Ren\u00e9"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("\U0001f469\u200d\U0001f4bb", "\U0001f469\u200d\U0001f4bb"),
        ("a\u200db", "a\u200db"),
        ("a \u200db", "a b"),
        ("\u200da", "a"),
        ("\u0915\u094d\u200c", "\u0915\u094d\u200c"),
    ],
    ids=["emoji_sequence", "inside_a_word", "after_a_space", "at_the_start", "after_a_virama"],
)
def test_joiners_are_kept_only_where_they_join(raw: str, expected: str) -> None:
    assert clean_text(raw, "job_title") == expected


def test_tag_characters_survive_only_inside_a_subdivision_flag() -> None:
    scotland = "\U0001f3f4\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f"
    assert clean_text(f"Glasgow {scotland}", "company") == f"Glasgow {scotland}"
    assert clean_text(f"Glasgow {scotland[1:]}", "company") == "Glasgow"


def test_entity_decoding_stops_after_a_bounded_number_of_rounds_without_leaving_markup() -> None:
    hostile = "&" + "amp;" * 500 + "lt;script&" + "amp;" * 500 + "gt;alert(1)"
    cleaned = clean_text(hostile, "lemlist_variable")
    assert cleaned is not None
    assert "<" not in cleaned
    assert "&" not in cleaned


def test_urls_keep_their_query_strings_undecoded() -> None:
    url = "https://acme.com/?a=1&lt=2"
    assert clean_text(url, "website") == url


def test_limits_count_utf16_code_units_as_the_vendors_do() -> None:
    emoji = "\U0001f600"
    assert text_length(emoji * 50) == 100
    assert clean_text(emoji * 50, "first_name") == emoji * 50
    assert clean_text(emoji * 51, "first_name") == emoji * 50


def test_company_and_title_limits_are_lemlists_200_not_the_old_255() -> None:
    assert MAX_LENGTHS["company"] == MAX_LENGTHS["company_name"] == MAX_LENGTHS["job_title"] == 200
    assert clean_text("x" * 255, "company") == "x" * 200


def test_every_limit_fits_in_a_hubspot_property() -> None:
    assert max(MAX_LENGTHS.values()) <= PROPERTY_VALUE_MAX
    assert MAX_LENGTHS["email"] == 254


@pytest.mark.parametrize("trigger", sorted(FORMULA_TRIGGERS))
def test_each_formula_trigger_is_neutralized_with_a_single_quote(trigger: str) -> None:
    assert neutralize_formula(f"{trigger}1+1") == f"'{trigger}1+1"
    assert neutralize_formula(neutralize_formula(f"{trigger}1+1")) == f"'{trigger}1+1"


def test_a_value_that_cannot_hold_a_formula_is_left_alone() -> None:
    assert neutralize_formula("Ann") == "Ann"
    assert neutralize_formula("") == ""
    assert clean_text("+33 6 12 34 56 78", "phone") == "+33 6 12 34 56 78"


def test_a_neutralized_value_still_fits_its_limit() -> None:
    cleaned = clean_text("=" + "x" * 300, "job_title")
    assert cleaned == "'=" + "x" * 198
    assert text_length(cleaned) == MAX_LENGTHS["job_title"]


@pytest.mark.parametrize(
    ("value", "field", "reason"),
    [
        ("", "first_name", "empty"),
        ("Ann\ud800", "first_name", "lone_surrogate"),
        ("Jo\x00hn", "first_name", "control_characters"),
        (" Ann", "first_name", "whitespace"),
        ("Ann\u00a0Lee", "first_name", "whitespace"),
        ("Ann\u202e", "first_name", "invisible_characters"),
        ("a \u200db", "first_name", "invisible_characters"),
        ("Rene\u0301", "first_name", "not_nfc"),
        ("x" * 201, "company", "too_long"),
        ("<b>Ann</b>", "first_name", "markup"),
        ("&lt;b&gt;", "first_name", "markup"),
        ("=1+1", "job_title", "formula_start"),
        ("call me", "phone", "not_a_phone_number"),
        ("ftp://acme.com", "website", "not_a_url"),
        ("https://evil.example/in/x", "linkedin_url", "not_a_linkedin_url"),
        ("Acme.com", "company_domain", "not_a_domain"),
        ("=x@example.com", "email", "formula_start"),
    ],
)
def test_text_problem_names_what_is_wrong_without_quoting_the_value(
    value: str, field: str, reason: str
) -> None:
    assert text_problem(value, field) == reason


def test_nothing_to_send_has_no_problem() -> None:
    assert all(text_problem(None, field) is None for field in FIELDS)


@pytest.mark.parametrize("case", EMAILS, ids=lambda case: case.name)
def test_email_reasons_come_from_a_fixed_vocabulary(case: Case) -> None:
    assert email_problem(case.raw) in EMAIL_REASONS


def test_email_problem_accepts_surrounding_whitespace_and_upper_case() -> None:
    assert email_problem(" Ann@Example.COM ") is None
    assert email_problem("\tann@example.com\r\n") is None
    assert email_problem(None) == "missing"


def test_an_unknown_field_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="no field 'nickname'"):
        clean_text("Ann", "nickname")


def test_printable_shows_invisible_characters_as_escapes() -> None:
    shown = printable("A\u202e\ud800\x00\u200d\u00a0b***")
    assert shown == "A\\u202e\\ud800\\u0000\\u200d\\u00a0b***"
    assert shown.encode("utf-8")
    assert printable("Ó Briain") == "Ó Briain"
    assert printable(None) is None


def test_the_domain_layer_imports_only_the_standard_library_and_itself() -> None:
    imported: set[str] = set()
    for path in DOMAIN.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                imported.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module:
                imported.add(node.module)
    outside = {
        name.split(".")[0] for name in imported if not name.startswith("sales_pipeline.domain")
    }
    assert outside
    assert outside <= set(sys.stdlib_module_names) | {"__future__"}


# The promise: nothing cleaned is refused at send time -------------------------------------------

_HOSTILE_PIECES = st.sampled_from(
    [
        "<",
        ">",
        "&",
        ";",
        "&amp;",
        "&lt;script&gt;",
        "<script>",
        "</script>",
        "=",
        "-",
        "+",
        "@",
        "\t",
        "\r",
        " ",
        "\u200c",
        "\u200d",
        "\u202e",
        "\ufeff",
        "\u00ad",
        "\ud800",
        "\U0001f469",
        "\U0001f3f4",
        "\U000e0067",
        "\U000e007f",
        "\U0001f1eb",
        "\u0301",
        "\u094d",
        "\ufe0f",
        "a",
        "\u0628",
        "1",
    ]
)
_TEXT = st.lists(st.one_of(st.characters(codec=None), _HOSTILE_PIECES), max_size=80).map("".join)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=_TEXT, field=st.sampled_from(sorted(FIELDS)))
def test_text_problem_accepts_every_output_of_clean_text(value: str, field: str) -> None:
    cleaned = clean_text(value, field)
    assert text_problem(cleaned, field) is None
    assert clean_text(cleaned, field) == cleaned


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    value=st.lists(_HOSTILE_PIECES, min_size=40, max_size=160).map("".join),
    field=st.sampled_from([f for f, rule in FIELDS.items() if rule.kind is Kind.TEXT]),
)
def test_cutting_at_the_limit_never_leaves_a_problem(value: str, field: str) -> None:
    cleaned = clean_text(value, field)
    assert text_problem(cleaned, field) is None
    assert cleaned is None or text_length(cleaned) <= MAX_LENGTHS[field]
