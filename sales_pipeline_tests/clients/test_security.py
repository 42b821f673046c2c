"""Secrets and PII never reach reprs, logs or errors."""

from __future__ import annotations

import base64
import io
import logging
from datetime import UTC, datetime
from urllib.parse import quote

import pytest

from sales_pipeline.clients import (
    ApiError,
    ContactUpsert,
    InvalidRequest,
    RedactingFilter,
    Secret,
    install_redaction,
    redact,
)
from sales_pipeline_tests.clients.conftest import (
    EXPLORIUM_KEY,
    HUBSPOT_TOKEN,
    LEMLIST_KEY,
    Scripted,
)

EMAIL = "jane.doe@example.com"
LEMLIST_BASIC = base64.b64encode(f":{LEMLIST_KEY}".encode()).decode()
SECRETS = (HUBSPOT_TOKEN, EXPLORIUM_KEY, LEMLIST_KEY, LEMLIST_BASIC)


def test_secret_hides_its_value_from_repr_str_and_formatting():
    secret = Secret("s3cr3t-value-123")

    for shown in (repr(secret), str(secret), f"{secret}", f"{[secret]}", f"{ {'k': secret} }"):
        assert "s3cr3t-value-123" not in shown
    assert secret.reveal() == "s3cr3t-value-123"
    assert secret == Secret("s3cr3t-value-123")


def test_secret_rejects_an_empty_value():
    with pytest.raises(ValueError, match="non-empty"):
        Secret("")


def test_no_secret_or_email_reaches_logs_or_errors(server, hubspot, explorium, lemlist, caplog):
    caplog.set_level(logging.DEBUG)
    echo = f"{EMAIL} rejected for Bearer {HUBSPOT_TOKEN} api_key={EXPLORIUM_KEY} {LEMLIST_KEY}"
    server.handler = lambda _: Scripted(400, json={"message": echo, "correlationId": "c"})
    errors: list[ApiError] = []

    [upserted] = hubspot.batch_upsert_contacts([ContactUpsert(EMAIL, {"firstname": "Jane"})])
    with pytest.raises(InvalidRequest) as raised:
        hubspot.count_contacts_modified_since(datetime(2025, 1, 1, tzinfo=UTC))
    errors.append(raised.value)
    with pytest.raises(InvalidRequest) as raised:
        explorium.match_prospects([{"email": EMAIL}])
    errors.append(raised.value)
    server.handler = lambda _: Scripted(400, text=echo)
    with pytest.raises(InvalidRequest) as raised:
        lemlist.get_lead(EMAIL)
    errors.append(raised.value)

    texts = [caplog.text, *(str(e) for e in errors), *(repr(e) for e in errors)]
    texts += [e.message for e in errors] + [upserted.error or ""]
    for text in texts:
        assert EMAIL not in text
        assert quote(EMAIL) not in text
        for secret in SECRETS:
            assert secret not in text
    assert "<email>" in caplog.text


def test_redacting_filter_masks_message_args_exception_and_extras():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    logger = logging.getLogger("redaction-test")
    logger.addHandler(handler)
    logger.addFilter(RedactingFilter())
    logger.propagate = False
    try:
        try:
            raise RuntimeError(f"Authorization: Bearer abcdefgh12345678 for {EMAIL}")
        except RuntimeError:
            logger.exception("lookup of %s failed", EMAIL, extra={"lead": EMAIL})
        record_text = stream.getvalue()
    finally:
        logger.removeHandler(handler)

    assert EMAIL not in record_text
    assert "abcdefgh12345678" not in record_text
    assert "lookup of <email> failed" in record_text


def test_install_redaction_covers_existing_child_loggers_and_handlers():
    child = logging.getLogger("sales_pipeline.some_child_for_test")
    stream = io.StringIO()
    parent = logging.getLogger("sales_pipeline")
    handler = logging.StreamHandler(stream)
    parent.addHandler(handler)
    try:
        install_redaction("sales_pipeline")
        install_redaction("sales_pipeline")
        child.warning("pushed %s", EMAIL)
    finally:
        parent.removeHandler(handler)

    assert EMAIL not in stream.getvalue()
    assert sum(isinstance(f, RedactingFilter) for f in child.filters) == 1


@pytest.mark.parametrize(
    ("text", "hidden"),
    [
        ("call +1 415 555 2671 now", "415 555 2671"),
        ("call (415) 555-2671", "555-2671"),
        ("Basic OmxlbWxpc3Qta2V5", "OmxlbWxpc3Qta2V5"),
        ('{"refresh_token": "r-123456"}', "r-123456"),
        ("client_secret=abc123&x=1", "abc123"),
    ],
)
def test_redact_masks_phones_and_credentials(text, hidden):
    assert hidden not in redact(text)


def test_redact_keeps_ids_and_timestamps_readable():
    text = "contact 37765128953 modified 2025-07-07T20:27:17.947Z epoch 1751920037947"

    assert redact(text) == text


def test_basic_auth_credential_is_masked_like_the_key():
    assert LEMLIST_BASIC not in redact(f"header was Basic {LEMLIST_BASIC}")
