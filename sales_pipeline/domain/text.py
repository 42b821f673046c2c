"""The text policy: what a clean value is, for every field the pipeline reads or sends.

One definition serves every caller, so a value that passed normalization is never refused at
send time: the normalizing transforms call :func:`clean_text` and :func:`email_problem`, the
pandera schemas take their limits from :data:`MAX_LENGTHS`, and each vendor client's pre-send
validation calls :func:`text_problem`, which accepts every output of :func:`clean_text` (a
property test proves it). Standard library only: the HTTP clients import this module and may not
import pandas or Dagster.

What :func:`clean_text` does to a value, in order, and why:

1. **Markup.** HTML entities are decoded and tags removed, ``<script>``/``<style>`` blocks with
   their content, then again, until nothing changes (at most :data:`MAX_UNESCAPE_ROUNDS` rounds;
   a value still decoding after that is hostile and loses every ``&``). Stray ``<`` and ``>`` go
   too. Lemlist renders variables into HTML email and HubSpot into its UI:
   ``&amp;lt;script&amp;gt;`` must not become a tag on the second decoding, wherever that
   happens. Only free text (:attr:`Kind.TEXT`) is decoded: in a URL, ``&not=1`` is a query
   parameter, not ``¬=1``.
2. **Invisible characters.** C0/C1 controls (NUL breaks C strings and PostgreSQL text), lone
   surrogates (a Python ``str`` holds ``"\\ud800"``, but no UTF-8 or UTF-16 encoder does: the
   transport's ``json.dumps(...).encode()`` raises), bidi embeddings, overrides, isolates and
   marks (the "Trojan Source" trick: text that displays in another order than it reads), and
   every other format character (zero-width space, word joiner, BOM, soft hyphen, ...):
   they make two values that look the same differ, or hide text. Noncharacters and the invisible
   Hangul fillers go as well. Kept: ZWNJ and ZWJ between two letters or marks, or after a
   virama, where Persian (``می‌خواهم``) and Indic scripts (Devanagari half forms, Malayalam
   chillus, which may end a word) need them to spell a name; ZWJ between emoji of a ZWJ
   sequence (``👩‍💻``); tag characters inside a subdivision flag (🏴 + tags + cancel tag), and
   nowhere else (elsewhere they smuggle invisible ASCII). Variation selectors and combining
   marks are letters' parts and stay.
3. **Whitespace.** Every run of whitespace (tabs, line breaks, no-break and ideographic spaces)
   becomes one space; the value is trimmed. These are one-line fields.
4. **NFC.** Unicode canonical composition, last, so that an accent freed from an invisible
   character composes with its letter: the same name is then the same string everywhere.
5. **Kind.** A field whose meaning is its exact characters (:attr:`Kind.PHONE`, :attr:`Kind.URL`,
   :attr:`Kind.LINKEDIN_URL`, :attr:`Kind.DOMAIN`) keeps the value only if it has that shape and
   fits the limit, else the value is dropped (None): a cut or "repaired" phone is a wrong number.
   Such values cannot start a spreadsheet formula (a phone is digits, spaces, ``( ) . -`` and a
   leading ``+``; with no letter it cannot call a function), so ``+33 6 12 34 56 78`` is kept
   as it is. Domains are lower-cased.
6. **Length** (free text). Cut to the field's limit at a character boundary: never inside a
   surrogate pair, before a combining mark, inside an emoji sequence or a flag, nor after a
   dangling joiner. Limits count UTF-16 code units, as the vendors (JavaScript and Java) do;
   within such a limit a value is within it in Python characters too.
7. **Placeholders** (free text). A value with no letter, digit or emoji (``-``, ``.``, ``=``,
   ``@``) says "unknown" and becomes None; it would otherwise need neutralizing and reach a
   greeting as ``'-``.
8. **Spreadsheet formulas** (free text). Following OWASP's CSV-injection guidance, a value
   starting with ``=``, ``+``, ``-``, ``@``, tab or CR is prefixed with a single quote, which
   spreadsheets read as "this is text": Lemlist and HubSpot both export CSV, and a
   ``=HYPERLINK(...)`` job title would run on the exporting user's machine. This is part of
   cleaning, not a separate step at the sending edge, so the value stored, checked and sent is
   one and the same (the push ledger's payload hash included).
9. Empty becomes None.

Emails are not cleaned but judged: :func:`email_problem` names what makes an address
unacceptable (control characters, length, a local part starting with a formula character, the
shape of :data:`EMAIL_PATTERN`), and the contact is quarantined with that reason; a repaired
address would be someone else's. :func:`clean_text` with the ``email`` field returns the trimmed,
lower-cased address, or None when it has a problem.

:func:`printable` makes any string safe to show (masked quarantine values): invisible characters
become visible ``\\uXXXX`` escapes.
"""

from __future__ import annotations

import functools
import html
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType


class Kind(StrEnum):
    """What a field holds, which decides how it is cleaned and checked."""

    TEXT = "text"
    """Free text: names, company, title, place. Cleaned, cut, neutralized."""
    EMAIL = "email"
    """An email address: judged by :func:`email_problem`, never repaired."""
    PHONE = "phone"
    """A phone number: a leading ``+``, then digits, spaces, ``( ) . -``; at least 6 digits."""
    URL = "url"
    """A web address: an ``http(s)`` URL or a bare host name (``acme.com``)."""
    LINKEDIN_URL = "linkedin_url"
    """An ``http(s)`` URL on ``linkedin.com`` or one of its subdomains."""
    DOMAIN = "domain"
    """A lower-case host name such as ``acme.com``."""


class TextField(StrEnum):
    """The fields the policy knows; the pipeline's column names (HubSpot's ``company`` too)."""

    EMAIL = "email"
    FIRST_NAME = "first_name"
    LAST_NAME = "last_name"
    COMPANY = "company"
    COMPANY_NAME = "company_name"
    JOB_TITLE = "job_title"
    JOB_LEVEL = "job_level"
    JOB_DEPARTMENT = "job_department"
    INDUSTRY = "industry"
    YEARLY_REVENUE_RANGE = "yearly_revenue_range"
    PHONE = "phone"
    CITY = "city"
    COUNTRY = "country"
    LINKEDIN_URL = "linkedin_url"
    WEBSITE = "website"
    COMPANY_DOMAIN = "company_domain"
    LEMLIST_VARIABLE = "lemlist_variable"
    """The value of any Lemlist custom variable (sent as a string)."""


@dataclass(frozen=True)
class FieldRule:
    """How one field is cleaned and how long it may be."""

    kind: Kind
    max_length: int
    """Longest value, in UTF-16 code units (see :func:`text_length`)."""


EMAIL_MAX_LENGTH = 254
"""RFC 5321 (4.5.3.1.3): a path is at most 256 octets, angle brackets included."""

EMAIL_LOCAL_MAX_LENGTH = 64
"""RFC 5321 (4.5.3.1.1): the local part is at most 64 octets."""

# Where the limits come from. HubSpot takes up to 65,536 characters in any text property (the
# HubSpot client's PROPERTY_VALUE_MAX; api-facts/hubspot.md gives no lower figure), more than any
# limit below. Lemlist's OpenAPI (specs/lemlist-openapi.json) and api-facts/lemlist.md give no
# length for any lead field or custom variable: the Lemlist client's own caps (200 for short
# text, 1000 for a variable, 2048 for a URL, its phone pattern of "+" and 6-25 characters) are
# the strictest destination there. Explorium's OpenAPI caps a business name at 256 and URLs and
# domains at 2048 (Business.name, Business.domain, company_url). Where nothing constrains a field,
# the limit is our choice, kept from the pandera schemas (marked "chosen").
FIELDS: Mapping[str, FieldRule] = MappingProxyType(
    {
        TextField.EMAIL: FieldRule(Kind.EMAIL, EMAIL_MAX_LENGTH),
        # chosen: no vendor publishes a name limit; 100 was the schemas' and is below Lemlist's 200
        TextField.FIRST_NAME: FieldRule(Kind.TEXT, 100),
        TextField.LAST_NAME: FieldRule(Kind.TEXT, 100),
        # Lemlist client: 200 for companyName/jobTitle (schemas allowed 255, Explorium 256)
        TextField.COMPANY: FieldRule(Kind.TEXT, 200),
        TextField.COMPANY_NAME: FieldRule(Kind.TEXT, 200),
        TextField.JOB_TITLE: FieldRule(Kind.TEXT, 200),
        # chosen (schemas): Explorium's short labels, sent as Lemlist variables and sp_* properties
        TextField.JOB_LEVEL: FieldRule(Kind.TEXT, 100),
        TextField.JOB_DEPARTMENT: FieldRule(Kind.TEXT, 100),
        TextField.INDUSTRY: FieldRule(Kind.TEXT, 200),
        TextField.YEARLY_REVENUE_RANGE: FieldRule(Kind.TEXT, 50),
        # Lemlist and Explorium clients: "+" then 6-25 of digits, spaces, ( ) . - (E.164: at most
        # 15 digits, so this leaves room for grouping)
        TextField.PHONE: FieldRule(Kind.PHONE, 26),
        # chosen (schemas)
        TextField.CITY: FieldRule(Kind.TEXT, 100),
        TextField.COUNTRY: FieldRule(Kind.TEXT, 100),
        # Explorium OpenAPI (company_url, domain: 2048) and the clients' URL check (2048)
        TextField.LINKEDIN_URL: FieldRule(Kind.LINKEDIN_URL, 2048),
        TextField.WEBSITE: FieldRule(Kind.URL, 2048),
        # RFC 1035 (2.3.4): 255 octets on the wire, 253 characters written; the clients' check
        TextField.COMPANY_DOMAIN: FieldRule(Kind.DOMAIN, 253),
        # Lemlist client: 1000 per custom variable value
        TextField.LEMLIST_VARIABLE: FieldRule(Kind.TEXT, 1000),
    }
)
"""Every field's rule: one table for the transforms, the schemas and the vendor clients."""

MAX_LENGTHS: Mapping[str, int] = MappingProxyType(
    {name: rule.max_length for name, rule in FIELDS.items()}
)
"""The longest value of each field, in UTF-16 code units (pandera ``str_length`` can use it
as is: a value within it in UTF-16 units is within it in Python characters)."""

EMAIL_PATTERN = (
    r"^(?=[^@]{1,64}@)"
    r"[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}\Z"
)
"""A lower-case, ASCII address: dot-atom local part of at most 64 characters, a dotted host name
with an alphabetic top-level domain. Stricter than RFC 5322, as the vendors are."""

DOMAIN_PATTERN = r"^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}\Z"
"""A lower-case host name such as ``acme.com``."""

FORMULA_TRIGGERS = frozenset("=+-@\t\r")
"""First characters that make a spreadsheet read a cell as a formula (OWASP, CSV Injection)."""

MAX_UNESCAPE_ROUNDS = 10
"""How many times entities are decoded before a value still decoding counts as hostile."""

_ZWNJ = "\u200c"
_ZWJ = "\u200d"
_JOINERS = _ZWNJ + _ZWJ
_VIRAMA_CLASS = 9
_VARIATION_SELECTOR_16 = "\ufe0f"
_EMOJI_MODIFIERS = range(0x1F3FB, 0x1F400)
_REGIONAL_INDICATORS = range(0x1F1E6, 0x1F200)
_TAGS = range(0xE0000, 0xE0080)
_CANCEL_TAG = "\U000e007f"
_HANGUL_FILLERS = frozenset("\u115f\u1160\u3164\uffa0")
_FLAG_TAG_SEQUENCE = re.compile("\U0001f3f4([\U000e0020-\U000e007e]{1,30})\U000e007f")
_HANGUL_FILLER = re.compile(f"[{''.join(sorted(_HANGUL_FILLERS))}]")

_EMAIL = re.compile(EMAIL_PATTERN)
_DOMAIN = re.compile(DOMAIN_PATTERN)
_PHONE = re.compile(r"\+?[0-9 ().-]{6,25}")
_PHONE_MIN_DIGITS = 6
_URL = re.compile(r"https?://([^/\s?#:@<>\"'`\\]+)(?::[0-9]{1,5})?(?:[/?#][^\s<>\"'`\\]*)?", re.I)
_MARKUP_BLOCK = re.compile(r"<(script|style)\b[^>]*>.*?(?:</\1\s*>|\Z)", re.I | re.S)
_TAG = re.compile(r"<[^<>]*>")


def rule(field: str) -> FieldRule:
    """The rule of ``field``; ValueError naming it when the policy does not know it."""
    try:
        return FIELDS[field]
    except KeyError:
        raise ValueError(f"the text policy has no field {field!r}") from None


def text_length(value: str) -> int:
    """The length of ``value`` as the vendors count it: UTF-16 code units (an emoji outside the
    Basic Multilingual Plane counts 2, a lone surrogate 1). Counted by the UTF-16 encoder, in C:
    this runs on every value cleaned or checked."""
    if value.isascii():
        return len(value)
    return len(value.encode("utf-16-le", "surrogatepass")) // 2


# Cleaning ---------------------------------------------------------------------------------------


def clean_text(value: str | None, field: str) -> str | None:
    """``value`` made clean for ``field`` (the policy in the module docstring); None when
    nothing acceptable is left. The result always passes :func:`text_problem`."""
    field_rule = rule(field)
    kind = field_rule.kind
    if value is None:
        return None
    if kind is Kind.EMAIL:
        return None if email_problem(value) else value.strip(" \t\r\n").lower()
    if kind is not Kind.TEXT:
        candidate = _normalized(_visible(value))
        candidate = candidate.lower() if kind is Kind.DOMAIN else candidate
        return candidate if candidate and text_problem(candidate, field) is None else None
    text = _normalized(_without_markup(value))
    reserve = 1 if text[:1] in FORMULA_TRIGGERS else 0
    text = _cut(text, field_rule.max_length - reserve)
    if not _has_content(text):
        return None
    return neutralize_formula(text)


def overlong(value: str | None, field: str) -> int | None:
    """The length (in UTF-16 units) ``value`` would have once cleaned for the free-text
    ``field`` if it exceeds the field's limit, else None: a caller that would rather refuse an
    overlong record than cut it (a 10 KB job title is a broken record) asks this first."""
    if value is None or rule(field).kind is not Kind.TEXT:
        return None
    length = text_length(_normalized(_without_markup(value)))
    return length if length > MAX_LENGTHS[field] else None


def neutralize_formula(value: str) -> str:
    """``value`` prefixed with a single quote when it starts with a :data:`FORMULA_TRIGGERS`
    character, so a spreadsheet shows it as text (OWASP); other values unchanged.

    :func:`clean_text` applies it to free text; it is public for values built elsewhere.
    """
    return f"'{value}" if value[:1] in FORMULA_TRIGGERS else value


def _normalized(text: str) -> str:
    """Whitespace runs as one space, trimmed, in NFC."""
    return unicodedata.normalize("NFC", " ".join(text.split()))


def _without_markup(text: str) -> str:
    """Entities decoded and markup removed until nothing changes (bounded), invisible
    characters removed after each decoding (an entity may encode one, and removing one may
    complete an entity). A clear value (:func:`_clear`) without ``&``, ``<`` or ``>`` is its own
    first round's result, so it is returned at once: almost every value is one."""
    if "&" not in text and "<" not in text and ">" not in text and _clear(text):
        return text
    return _unmarked(text)


def _unmarked(text: str) -> str:
    """:func:`_without_markup`, round by round: the reference the shortcut must agree with."""
    for _ in range(MAX_UNESCAPE_ROUNDS):
        decoded = _strip_markup(_visible(html.unescape(text)))
        if decoded == text:
            return text
        text = decoded
    return _strip_markup(_visible(text.replace("&", "")))


def _strip_markup(text: str) -> str:
    """Script and style blocks removed with their content, then tags, then stray angle
    brackets; blocks first each time, so that removing one cannot leave a reassembled block's
    content behind as text."""
    previous = None
    while previous != text:
        previous = text
        text = _MARKUP_BLOCK.sub("", text)
        if text == previous:
            text = _TAG.sub("", text)
    return text.replace("<", "").replace(">", "")


def _clear(text: str) -> bool:
    """No character of ``text`` is one :func:`_visible` changes or removes, decided in C.

    ``str.isprintable`` is false for every control, format character (the joiners and tags
    among them), lone surrogate, unassigned code point (noncharacters among them), private-use
    character and separator but the space, so that a printable value holds no whitespace but
    spaces and nothing invisible except, perhaps, a Hangul filler (a letter to Unicode).
    ``test_text_speed_equivalence.py`` checks this for every code point."""
    return text.isprintable() and (text.isascii() or _HANGUL_FILLER.search(text) is None)


def _visible(text: str) -> str:
    """Whitespace as spaces; controls, surrogates, format characters, noncharacters and Hangul
    fillers removed, except joiners inside words or emoji sequences and flag tag sequences.
    A clear value (:func:`_clear`) is returned as it is, without the walk of
    :func:`_visible_walk`."""
    return text if _clear(text) else _visible_walk(text)


def _visible_walk(text: str) -> str:
    """:func:`_visible`, character by character: the reference the shortcut must agree with."""
    in_flags = {
        index
        for match in _FLAG_TAG_SEQUENCE.finditer(text)
        for index in range(match.start(1), match.end())
    }
    kept = "".join(
        " " if ch.isspace() else ch
        for index, ch in enumerate(text)
        if index in in_flags or ch in _JOINERS or not _invisible(ch)
    )
    return "".join(ch for i, ch in enumerate(kept) if ch not in _JOINERS or _joins(kept, i))


def _invisible(ch: str) -> bool:
    """A character no reader sees (whitespace aside): a control, a lone surrogate, a format
    character, a noncharacter or a Hangul filler."""
    if ch.isspace():
        return False
    code = ord(ch)
    return (
        unicodedata.category(ch) in ("Cc", "Cs", "Cf")
        or 0xFDD0 <= code <= 0xFDEF
        or code & 0xFFFE == 0xFFFE
        or ch in _HANGUL_FILLERS
    )


def _joins(text: str, index: int) -> bool:
    """The joiner at ``index`` follows a virama (an Indic half form or chillu, which may end a
    word), stands inside a word (letters or marks on both sides) or, for ZWJ, between the emoji
    of a ZWJ sequence."""
    if index == 0:
        return False
    before = text[index - 1]
    if unicodedata.combining(before) == _VIRAMA_CLASS:
        return True
    if index == len(text) - 1:
        return False
    after = text[index + 1]
    if _in_word(before) and _in_word(after):
        return True
    return text[index] == _ZWJ and _ends_emoji(before) and _is_emoji(after)


def _in_word(ch: str) -> bool:
    """A letter or a combining mark."""
    return unicodedata.category(ch)[0] in "LM"


def _is_emoji(ch: str) -> bool:
    """A pictographic symbol, or a code point newer than this Python's Unicode database (new
    emoji are, until Python learns them)."""
    return unicodedata.category(ch) in ("So", "Cn")


def _ends_emoji(ch: str) -> bool:
    """What an emoji may end with before a ZWJ: the emoji, a skin-tone modifier, the emoji
    presentation selector or the cancel tag of a flag."""
    return (
        _is_emoji(ch) or ord(ch) in _EMOJI_MODIFIERS or ch in (_VARIATION_SELECTOR_16, _CANCEL_TAG)
    )


def _cut(text: str, limit: int) -> str:
    """``text`` within ``limit`` UTF-16 units, cut where no character is split (see
    :func:`_continues`), without trailing spaces or joiners."""
    if text_length(text) <= limit:
        return text
    end = used = 0
    for ch in text:
        used += 2 if ord(ch) > 0xFFFF else 1
        if used > limit:
            break
        end += 1
    while end > 0 and _continues(text, end):
        end -= 1
    return text[:end].rstrip(" " + _JOINERS)


def _continues(text: str, index: int) -> bool:
    """``text[index]`` belongs with the character before it: a combining mark or variation
    selector, a joiner or what follows a ZWJ, a skin-tone modifier, a tag, or the second
    regional indicator of a flag."""
    ch = text[index]
    if (
        unicodedata.category(ch)[0] == "M"
        or ch in _JOINERS
        or text[index - 1] == _ZWJ
        or ord(ch) in _EMOJI_MODIFIERS
        or ord(ch) in _TAGS
    ):
        return True
    if ord(ch) not in _REGIONAL_INDICATORS:
        return False
    run = 0
    while index - run > 0 and ord(text[index - run - 1]) in _REGIONAL_INDICATORS:
        run += 1
    return run % 2 == 1


def _has_content(text: str) -> bool:
    """Some letter, digit, emoji or private-use character: more than punctuation."""
    return any(
        unicodedata.category(ch)[0] in "LN" or unicodedata.category(ch) in ("So", "Cn", "Co")
        for ch in text
    )


# Checking ---------------------------------------------------------------------------------------


def text_problem(value: str | None, field: str) -> str | None:
    """Why ``value`` may not be sent as ``field``, in a few words that never quote it; None
    when it may. None (nothing to send) has no problem; neither has any :func:`clean_text`
    output. Reasons: ``empty``, ``lone_surrogate``, ``control_characters``, ``whitespace``,
    ``invisible_characters``, ``not_nfc``, ``too_long``, then by kind ``markup``,
    ``formula_start``, ``not_a_phone_number``, ``not_a_url``, ``not_a_linkedin_url``,
    ``not_a_domain``, or an :func:`email_problem` reason.

    The answers for values up to :data:`REMEMBERED_UP_TO` characters are remembered (the last
    8,192): every client checks each value it sends, and a step sends the same short values
    over and over."""
    if value is None:
        return None
    if len(value) <= REMEMBERED_UP_TO:
        return _remembered_problem(value, field)
    return _problem(value, field)


REMEMBERED_UP_TO = 256
"""Longest value whose :func:`text_problem` answer is remembered."""


def _problem(value: str, field: str) -> str | None:
    """:func:`text_problem` of a value that is not None."""
    field_rule = rule(field)
    if field_rule.kind is Kind.EMAIL:
        return email_problem(value)
    if value == "":
        return "empty"
    # A clear value holds no control, surrogate or invisible character (see _clear): the walk
    # over its characters' categories is skipped.
    categories = set() if _clear(value) else {unicodedata.category(ch) for ch in value}
    if "Cs" in categories:
        return "lone_surrogate"
    if "Cc" in categories:
        return "control_characters"
    if " ".join(value.split()) != value:
        return "whitespace"
    if _visible(value) != value:
        return "invisible_characters"
    if not unicodedata.is_normalized("NFC", value):
        return "not_nfc"
    if text_length(value) > field_rule.max_length:
        return "too_long"
    return _shape_problem(value, field_rule.kind)


_remembered_problem = functools.lru_cache(maxsize=8_192)(_problem)


def _shape_problem(value: str, kind: Kind) -> str | None:
    """What is wrong with a visible, trimmed value of ``kind`` within its limit."""
    if kind is Kind.TEXT:
        if "<" in value or ">" in value or html.unescape(value) != value:
            return "markup"
        return "formula_start" if value[0] in FORMULA_TRIGGERS else None
    if kind is Kind.PHONE:
        digits = sum(ch in "0123456789" for ch in value)
        shaped = _PHONE.fullmatch(value) and digits >= _PHONE_MIN_DIGITS
        return None if shaped else "not_a_phone_number"
    if kind is Kind.DOMAIN:
        return None if _DOMAIN.fullmatch(value) else "not_a_domain"
    url = _URL.fullmatch(value)
    if kind is Kind.URL:
        return None if url or _DOMAIN.fullmatch(value.lower()) else "not_a_url"
    host = url.group(1).lower() if url else ""
    on_linkedin = host == "linkedin.com" or host.endswith(".linkedin.com")
    return None if on_linkedin else "not_a_linkedin_url"


def email_problem(email: str | None) -> str | None:
    """Why ``email`` is not an acceptable address, in a few words that never quote it; None
    when it is (surrounding spaces, tabs and line breaks and upper case are fine: an address
    exported with a trailing tab or newline is trimmed, as :func:`clean_text` does).

    Reasons: ``missing``; ``control_characters`` (any control, format or line-break character,
    tab included, anywhere); ``too_long`` (over 254); ``formula_start`` (the local part starts
    with ``=``, ``+``, ``-`` or ``@``: the address itself would run in a spreadsheet, and
    neutralizing it would change it); ``local_part_too_long`` (over 64);
    ``not_an_email_address`` (not :data:`EMAIL_PATTERN` once lower-cased).
    """
    address = (email or "").strip(" \t\r\n")
    if not address:
        return "missing"
    # A printable address has none of these (see _clear): the walk is for the others.
    if not address.isprintable() and any(
        unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Zl", "Zp") or (ch.isspace() and ch != " ")
        for ch in address
    ):
        return "control_characters"
    if len(address) > EMAIL_MAX_LENGTH:
        return "too_long"
    if address[0] in FORMULA_TRIGGERS:
        return "formula_start"
    if len(address.rpartition("@")[0]) > EMAIL_LOCAL_MAX_LENGTH:
        return "local_part_too_long"
    return None if _EMAIL.fullmatch(address.lower()) else "not_an_email_address"


# Showing ----------------------------------------------------------------------------------------


def printable(value: str | None) -> str | None:
    """``value`` with every character a reader cannot see, or an encoder cannot encode, shown
    as an escape (``"\\u202e"``): controls, format characters, lone surrogates, line and
    paragraph separators, spaces other than U+0020, noncharacters and Hangul fillers. For values
    shown to people (masked quarantine records); None stays None."""
    if value is None or _clear(value):
        return value
    return "".join(_escape(ch) if _unprintable(ch) else ch for ch in value)


def _unprintable(ch: str) -> bool:
    """A character :func:`printable` escapes."""
    category = unicodedata.category(ch)
    return _invisible(ch) or category in ("Zl", "Zp") or (ch.isspace() and ch != " ")


def _escape(ch: str) -> str:
    """``ch`` as a Python-style escape."""
    code = ord(ch)
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"
