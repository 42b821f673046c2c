"""Validation and sanitising of records before anything is sent.

A `Validator` is bound to one vendor and operation; each check returns the
cleaned value or raises `InputValidationError` naming the offending field
(``"leads[3].email"``). Callers validate a whole batch first and send only
afterwards, so one bad record means nothing at all was sent. Messages
describe the problem without quoting the value, which may be PII.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Collection, Mapping
from typing import Any, NoReturn

from sales_pipeline.clients.errors import InputValidationError
from sales_pipeline.domain.text import TextField, text_problem

ANY_TEXT = TextField.LEMLIST_VARIABLE
"""The policy field whose invisible-character rules apply to free text outside the policy."""
_INVISIBLE = {"lone_surrogate", "invisible_characters"}

EMAIL_MAX_LENGTH = 254
_EMAIL = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.[A-Za-z]{2,63}$"
)
_DOMAIN = re.compile(r"^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$")
_HTML_TAG = re.compile(r"<\s*[A-Za-z/!?][^>]*>?")
_SCRIPT_SCHEME = re.compile(r"(?i)\b(?:javascript|vbscript|data)\s*:")


_REMEMBERED_UP_TO = 256
"""Values up to this length have their check remembered (the last 8,192 of them): a step
sends the same short values over and over (tiers, industries, company names), and the check is
a pure function of the value and the limits."""


def _checked_text(value: str, max_length: int, multiline: bool) -> tuple[str, str | None]:
    """`Validator.text`'s cleaned value, and the problem that refuses it (None when none)."""
    cleaned = unicodedata.normalize("NFC", value).strip()
    line = re.sub(r"[\r\n\t]+", " ", cleaned) if multiline else cleaned
    # A printable line holds no control character: only the others need the walk.
    if not line.isprintable() and any(unicodedata.category(ch) == "Cc" for ch in line):
        return cleaned, "contains control characters"
    if text_problem(" ".join(line.split()), ANY_TEXT) in _INVISIBLE:
        return cleaned, "contains invisible characters"
    if _HTML_TAG.search(cleaned) or _SCRIPT_SCHEME.search(cleaned):
        return cleaned, "contains HTML or script content"
    if len(cleaned) > max_length:
        return cleaned, f"longer than {max_length} characters"
    return cleaned, None


_remembered_text = functools.lru_cache(maxsize=8_192)(_checked_text)


def as_text(value: str | int | float | bool | None) -> str:
    """A scalar as vendors expect it in string fields: ``None`` is ``""``,
    booleans are ``"true"``/``"false"``, numbers use ``str``."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class Validator:
    """Field checks for one vendor operation.

    Args:
        vendor: Vendor named in raised errors.
        operation: Operation named in raised errors.
    """

    def __init__(self, vendor: str, operation: str) -> None:
        self.vendor = vendor
        self.operation = operation

    def fail(self, field: str, problem: str) -> NoReturn:
        """Raise `InputValidationError` for ``field``."""
        raise InputValidationError(
            problem, vendor=self.vendor, operation=self.operation, field=field
        )

    def mapping(self, value: Any, field: str) -> Mapping[str, Any]:
        """``value`` itself if it is a mapping with string keys."""
        if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
            self.fail(field, "must be a mapping with string keys")
        return value

    def known_keys(self, record: Mapping[str, Any], allowed: Collection[str], field: str) -> None:
        """Reject keys of ``record`` outside ``allowed``."""
        unknown = sorted(set(record) - set(allowed))
        if unknown:
            self.fail(f"{field}.{unknown[0]}", f"unknown field; allowed: {', '.join(allowed)}")

    def text(self, value: Any, field: str, *, max_length: int, multiline: bool = False) -> str:
        """A trimmed, NFC-normalised string without control or invisible characters (the text
        policy's: the joiners that Persian and Indic names and emoji sequences need are kept)
        or HTML.

        Args:
            value: The candidate.
            field: Field path for errors.
            max_length: Longest allowed length after trimming.
            multiline: Allow line breaks and tabs.
        """
        if not isinstance(value, str):
            self.fail(field, f"must be a string, not {type(value).__name__}")
        check = _remembered_text if len(value) <= _REMEMBERED_UP_TO else _checked_text
        cleaned, problem = check(value, max_length, multiline)
        if problem is not None:
            self.fail(field, problem)
        return cleaned

    def policy_text(self, value: Any, field: str, policy_field: str) -> str:
        """``value`` unchanged if the text policy accepts it for ``policy_field``: every value
        the pipeline's normalization produced is (:mod:`sales_pipeline.domain.text`), so a
        record is refused here only when it bypassed that normalization."""
        if not isinstance(value, str):
            self.fail(field, f"must be a string, not {type(value).__name__}")
        problem = text_problem(value, policy_field)
        if problem is not None:
            self.fail(field, problem.replace("_", " "))
        return value

    def required_text(self, value: Any, field: str, *, max_length: int) -> str:
        """Like `text`, and must not be empty."""
        cleaned = self.text(value, field, max_length=max_length)
        if not cleaned:
            self.fail(field, "must not be empty")
        return cleaned

    def email(self, value: Any, field: str) -> str:
        """A syntactically valid email address, lower-cased."""
        cleaned = self.text(value, field, max_length=EMAIL_MAX_LENGTH)
        if not _EMAIL.match(cleaned):
            self.fail(field, "is not a valid email address")
        return cleaned.lower()

    def domain(self, value: Any, field: str) -> str:
        """A host name such as ``acme.com``, lower-cased."""
        cleaned = self.text(value, field, max_length=253).lower()
        if not _DOMAIN.match(cleaned):
            self.fail(field, "is not a valid domain")
        return cleaned

    def url(self, value: Any, field: str, *, host_suffix: str | None = None) -> str:
        """An ``http(s)`` URL, optionally on a host ending in ``host_suffix``."""
        cleaned = self.text(value, field, max_length=2048)
        match = re.match(r"^https?://([^/\s?#]+)(?:[/?#]\S*)?$", cleaned, flags=re.IGNORECASE)
        if not match:
            self.fail(field, "is not an http(s) URL")
        host = match.group(1).lower().split(":", 1)[0]
        if host_suffix and not (host == host_suffix or host.endswith(f".{host_suffix}")):
            self.fail(field, f"must be a {host_suffix} URL")
        return cleaned

    def pattern(self, value: Any, field: str, regex: re.Pattern[str], description: str) -> str:
        """A string fully matching ``regex`` (``description`` names the expected form)."""
        if not isinstance(value, str) or not regex.fullmatch(value):
            self.fail(field, f"must be {description}")
        return value
