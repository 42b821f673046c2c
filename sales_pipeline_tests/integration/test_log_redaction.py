"""No secret, email or phone number reaches a log record or a raised error, with DEBUG logging
on everywhere (urllib3 included) while real traffic carries them both ways."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from sales_pipeline.clients import (
    ApiError,
    ContactUpsert,
    InMemoryTokenStore,
    MatchStatus,
    PropertyDefinition,
)
from sales_pipeline_tests.integration.conftest import (
    CREDENTIALS,
    SECRETS,
    Clients,
    SandboxControl,
    authorize,
)

EMAIL = "grace.hopper@navy.example.com"
PHONE = "+1 415 555 2671"
WRONG_KEYS = ("pat-na1-wrong-0123456789ab", "expl-wrong-key-0123456789", "lemlist-wrong-0123456")
SCORE = PropertyDefinition("sp_redaction_score", "Score", "number", "number")


class ErrorCollector:
    """Runs calls that must fail and keeps the typed errors they raise."""

    def __init__(self) -> None:
        self.errors: list[ApiError] = []

    def expect(self, error: type[ApiError], call: Callable[[], Any]) -> None:
        with pytest.raises(error) as raised:
            call()
        self.errors.append(raised.value)


def run_hubspot(sandbox: SandboxControl, clients: Clients, failing: ErrorCollector) -> list[str]:
    """Writes, reads and searches carrying emails and phones, a per-record refusal that
    echoes a phone, a rejected token, and an OAuth run; returns the OAuth tokens issued."""
    hubspot = clients.hubspot()
    hubspot.ensure_contact_properties([SCORE])
    written, refused = hubspot.batch_upsert_contacts(
        [
            ContactUpsert(EMAIL, {"phone": PHONE, "firstname": "Grace"}),
            ContactUpsert("refused@navy.example.com", {SCORE.name: PHONE}),
        ]
    )
    assert written.ok
    assert not refused.ok
    assert refused.error is not None
    assert "<phone>" in refused.error
    assert written.contact_id is not None
    hubspot.batch_read_contacts([written.contact_id], ["email", "phone"])
    since = datetime.now(UTC) - timedelta(days=2)
    list(hubspot.iter_contacts_modified(since, datetime.now(UTC), ["email", "phone"]))
    failing.expect(
        ApiError, lambda: clients.hubspot(token=WRONG_KEYS[0]).count_contacts_modified_since(since)
    )
    store = InMemoryTokenStore()
    oauth = clients.hubspot_oauth(store)
    first = oauth.exchange_code(authorize(oauth))
    sandbox.advance_clock(1800)
    oauth.count_contacts_modified_since(since)
    latest = store.get(f"hubspot:{CREDENTIALS.hubspot_client_id}")
    assert latest is not None
    return [
        token.reveal()
        for token in (
            first.access_token,
            first.refresh_token,
            latest.access_token,
            latest.refresh_token,
        )
    ]


def run_explorium(clients: Clients, people: list[dict[str, str]], failing: ErrorCollector) -> None:
    """Matching by email and phone, contact enrichment answering emails and phones, a
    rejected key."""
    explorium = clients.explorium()
    matches = explorium.match_prospects(people)
    ids = [str(m.entity_id) for m in matches if m.status is MatchStatus.MATCHED]
    assert ids
    explorium.enrich_contacts_information(ids, ["email", "phone"])
    failing.expect(ApiError, lambda: clients.explorium(key=WRONG_KEYS[1]).match_prospects(people))


def run_lemlist(clients: Clients, campaign: str, failing: ErrorCollector) -> None:
    """Adding a lead with email and phone, reading it back by email (an email in the URL
    path), a missing campaign, a rejected key."""
    lemlist = clients.lemlist()
    lemlist.add_lead_to_campaign(campaign, {"email": EMAIL, "phone": PHONE})
    assert lemlist.get_lead(EMAIL)
    failing.expect(
        ApiError, lambda: lemlist.add_lead_to_campaign("cam_missing0000000000", {"email": EMAIL})
    )
    failing.expect(ApiError, lambda: clients.lemlist(key=WRONG_KEYS[2]).get_lead(EMAIL))


def test_no_secret_email_or_phone_reaches_logs_or_errors(
    sandbox: SandboxControl, clients: Clients, caplog: pytest.LogCaptureFixture
):
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="urllib3")
    contacts = [c["properties"] for c in sandbox.state("hubspot")["contacts"][:40]]
    people = [
        {"email": str(c["email"]), "phone_number": str(c["phone"])}
        for c in contacts
        if c["email"] and c["phone"]
    ]
    campaign = str(sandbox.state("lemlist")["campaigns"][0]["_id"])
    failing = ErrorCollector()

    tokens = run_hubspot(sandbox, clients, failing)
    run_explorium(clients, people, failing)
    run_lemlist(clients, campaign, failing)

    forbidden = [
        *SECRETS,
        *WRONG_KEYS,
        *tokens,
        EMAIL,
        PHONE,
        *(person["email"] for person in people),
        *(person["phone_number"] for person in people),
    ]
    formatter = logging.Formatter()
    texts = [formatter.format(record) for record in caplog.records]
    texts += [text for error in failing.errors for text in (str(error), repr(error))]
    leaks = [(secret, text) for text in texts for secret in forbidden if secret in text]
    assert leaks == []
    assert len(failing.errors) == 4
    assert any(record.name == "urllib3.connectionpool" for record in caplog.records)
    assert len(caplog.records) > 50
