"""Masking of PII and credentials in anything that is logged or raised.

`redact` masks, in this order: every registered secret value (see `Secret`),
``Bearer``/``Basic`` credentials, ``key=value`` pairs whose key names a
credential (``api_key``, ``token``, ``client_secret``, ``password``, ...),
email addresses (also URL-encoded, ``a%40b.com``) and phone numbers.

Phone numbers are recognised when written as phone numbers: an international
``+`` prefix followed by 7 or more digits and separators, or the ``(415)
555-2671`` / ``415-555-2671`` layout. Bare digit runs are left alone on
purpose: they are indistinguishable from the record ids and epoch
timestamps that make logs useful.

`RedactingFilter` applies `redact` to a whole `logging.LogRecord` (message,
arguments, exception and stack text, string ``extra`` fields);
`install_redaction` puts it on the ``sales_pipeline`` logger tree.
"""

from __future__ import annotations

import logging
import re
import threading

_MASK = "***"
_MIN_SECRET_LENGTH = 8

_registry_lock = threading.Lock()
_registered_values: set[str] = set()
_registered_pattern: re.Pattern[str] | None = None

_CREDENTIAL_SCHEME = re.compile(r"(?i)\b(bearer|basic)(\s+)[A-Za-z0-9._~+/=:-]{8,}")
_CREDENTIAL_PAIR = re.compile(
    r"(?i)([\"']?\b(?:api[_-]?key|apikey|access[_-]?token|refresh[_-]?token|id[_-]?token|"
    r"client[_-]?secret|secret|password|passwd|token|authorization|hapikey)\b[\"']?"
    r"\s*[:=]\s*[\"']?)([^\s\"'&,;}]+)"
)
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+(?:@|%40)[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
_PHONE = re.compile(
    r"(?<![\w+])\+\d[\d\s().-]{6,}\d(?!\w)"
    r"|(?<!\w)\(?\d{3}\)?[\s.-]\d{3}[\s.-]\d{4}(?!\w)"
)

# Attributes every LogRecord has; anything else on a record came from ``extra``.
_STANDARD_RECORD_ATTRS = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


def register_secret_value(value: str) -> None:
    """Mask ``value`` wherever it appears in redacted text from now on.

    Values shorter than 8 characters are ignored: masking them would shred
    ordinary text while protecting nothing.
    """
    global _registered_pattern
    if len(value) < _MIN_SECRET_LENGTH:
        return
    with _registry_lock:
        if value in _registered_values:
            return
        _registered_values.add(value)
        ordered = sorted(_registered_values, key=len, reverse=True)
        _registered_pattern = re.compile("|".join(re.escape(v) for v in ordered))


def redact(text: str) -> str:
    """Return ``text`` with secrets, credentials, emails and phone numbers masked."""
    pattern = _registered_pattern
    if pattern is not None:
        text = pattern.sub(_MASK, text)
    text = _CREDENTIAL_SCHEME.sub(lambda m: f"{m.group(1)}{m.group(2)}{_MASK}", text)
    text = _CREDENTIAL_PAIR.sub(lambda m: f"{m.group(1)}{_MASK}", text)
    text = _EMAIL.sub("<email>", text)
    return _PHONE.sub("<phone>", text)


class RedactingFilter(logging.Filter):
    """A logging filter that masks PII and credentials in every record it sees.

    It rewrites the record in place (so handlers further down see only the
    masked text) and never drops a record. The formatted message replaces
    ``msg`` and ``args`` is cleared; exception and stack text are formatted
    and masked into ``exc_text``/``stack_info``; string ``extra`` attributes
    are masked too.
    """

    _formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        """Mask the record's texts; always keep the record."""
        record.msg = redact(record.getMessage())
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = self._formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        for name, value in list(vars(record).items()):
            if name not in _STANDARD_RECORD_ATTRS and isinstance(value, str):
                setattr(record, name, redact(value))
        return True


def install_redaction(logger_name: str = "sales_pipeline") -> RedactingFilter:
    """Install a `RedactingFilter` on a logger tree and return it.

    The filter goes on the named logger, on every descendant logger that
    already exists, and on every handler attached to the named logger. (A
    filter on a logger only sees records logged through that very logger,
    hence the descendants.) Installing twice is harmless.
    """
    installed = RedactingFilter()
    prefix = f"{logger_name}."
    targets: list[logging.Logger] = [logging.getLogger(logger_name)]
    for name, candidate in list(logging.root.manager.loggerDict.items()):
        if name.startswith(prefix) and isinstance(candidate, logging.Logger):
            targets.append(candidate)
    for target in targets:
        _add_once(target, installed)
    for handler in targets[0].handlers:
        _add_once(handler, installed)
    return installed


def _add_once(target: logging.Filterer, new: RedactingFilter) -> None:
    if not any(isinstance(existing, RedactingFilter) for existing in target.filters):
        target.addFilter(new)
