"""Under the ``harsh`` fault profile every client operation ends with the right result or a
typed `ApiError`, after bounded retries; nothing hangs.

Each vendor's operations run twice on the same freshly reset world: once with faults off (the
reference) and once under ``harsh`` (5xx, injected 429s, drops, truncated and malformed bodies,
latency, hangs). Two changes to the built-in profile keep the run short yet complete: hangs
last 3 s instead of 30 s (the client's read timeout is 1 s), and the rare kinds (hang,
truncated and malformed bodies, 2 % each in ``harsh``) are raised to 6 %, so a run of a few
dozen requests meets them too. Every harsh outcome must equal the reference or be an
`ApiError`. Results are compared in a normalised form where a retry may change the answer but
not the effect (an upsert resent after a lost answer updates instead of creating; a lead added
twice is "already in the campaign").
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from sales_pipeline.clients import (
    AddLeadOutcome,
    ApiError,
    ContactUpsert,
    InMemoryTokenStore,
    MatchStatus,
    PropertyDefinition,
    VendorClient,
)
from sales_pipeline_tests.integration.conftest import (
    Clients,
    SandboxControl,
    authorize,
    transport_config,
)

Operations = dict[str, Callable[[], Any]]
Exercise = Callable[[SandboxControl, Clients], tuple[list[VendorClient], Operations]]

HANG_S = 3.0
READ_TIMEOUT_S = 1.0
RARE_FAULT_PROBABILITY = 0.06
NOW = datetime.now(UTC)
PROPERTIES = [
    PropertyDefinition("sp_fault_score", "Score", "number", "number"),
    PropertyDefinition("sp_fault_note", "Note", "string", "text"),
]


def harsh_profile(sandbox: SandboxControl) -> dict[str, Any]:
    """The built-in ``harsh`` profile with short hangs and likelier rare faults."""
    profile: dict[str, Any] = sandbox.set_faults("harsh")
    for vendor in profile.values():
        vendor["hang"] = {"probability": RARE_FAULT_PROBABILITY, "seconds": HANG_S}
        vendor["truncated_json"] = vendor["malformed_json"] = RARE_FAULT_PROBABILITY
    return profile


def outcome(call: Callable[[], Any]) -> Any:
    """What ``call`` returned, or the `ApiError` it raised."""
    try:
        return call()
    except ApiError as error:
        return error


def hubspot_operations(
    sandbox: SandboxControl, clients: Clients
) -> tuple[list[VendorClient], Operations]:
    contacts = sandbox.state("hubspot")["contacts"]
    ids = [str(c["id"]) for c in contacts[:150]] + ["999999999"]
    emails = [str(c["properties"]["email"]) for c in contacts[:3] if c["properties"]["email"]]
    records = [
        ContactUpsert(email, {"firstname": "Updated"})
        for email in [*emails, "new.one@faults.example.com", "new.two@faults.example.com"]
    ]
    hubspot = clients.hubspot()
    oauth = clients.hubspot_oauth(InMemoryTokenStore())
    code = authorize(oauth)

    def oauth_run_past_token_lifetime() -> int:
        oauth.exchange_code(code)
        sandbox.advance_clock(1800)
        return oauth.count_contacts_modified_since(NOW - timedelta(days=7))

    def properties_exist() -> list[str]:
        hubspot.ensure_contact_properties(PROPERTIES)
        existing = set(sandbox.state("hubspot")["properties"])
        return [definition.name for definition in PROPERTIES if definition.name in existing]

    operations: Operations = {
        "check_health": lambda: hubspot.check_health().ok,
        "count_contacts_modified_since": lambda: hubspot.count_contacts_modified_since(
            NOW - timedelta(days=7)
        ),
        "iter_contacts_modified": lambda: sorted(
            int(c["id"])
            for c in hubspot.iter_contacts_modified(NOW - timedelta(days=5), NOW, ["email"])
        ),
        "batch_read_contacts": lambda: [
            (r.contact_id, r.properties is not None)
            for r in hubspot.batch_read_contacts(ids, ["email"])
        ],
        "batch_upsert_contacts": lambda: [
            (r.email, r.ok, r.contact_id) for r in hubspot.batch_upsert_contacts(records)
        ],
        "ensure_contact_properties": properties_exist,
        "exchange_code_then_refresh": oauth_run_past_token_lifetime,
    }
    return [hubspot, oauth], operations


def explorium_operations(
    sandbox: SandboxControl, clients: Clients
) -> tuple[list[VendorClient], Operations]:
    contacts = sandbox.state("hubspot")["contacts"][:60]
    people = [{"email": c["properties"]["email"]} for c in contacts if c["properties"]["email"]]
    companies = [
        {"domain": str(c["properties"]["website"]).removeprefix("https://")}
        for c in contacts
        if c["properties"]["website"]
    ]
    explorium = clients.explorium()
    prospect_ids = [
        str(r.entity_id) for r in explorium.match_prospects(people) if r.entity_id is not None
    ][:60]
    business_ids = [
        str(r.entity_id) for r in explorium.match_businesses(companies) if r.entity_id is not None
    ]

    def enriched(results: list[Any]) -> list[tuple[str, str, Any]]:
        return [(r.entity_id, r.status.value, r.data) for r in results]

    def matched(results: list[Any]) -> list[tuple[MatchStatus, str | None]]:
        return [(r.status, r.entity_id) for r in results]

    operations: Operations = {
        "check_health": lambda: explorium.check_health().ok,
        "match_prospects": lambda: matched(explorium.match_prospects(people)),
        "match_businesses": lambda: matched(explorium.match_businesses(companies)),
        "enrich_contacts_information": lambda: enriched(
            explorium.enrich_contacts_information(prospect_ids, ["email", "phone"])
        ),
        "enrich_profiles": lambda: enriched(explorium.enrich_profiles(prospect_ids)),
        "enrich_firmographics": lambda: enriched(explorium.enrich_firmographics(business_ids)),
    }
    return [explorium], operations


def lemlist_operations(
    sandbox: SandboxControl, clients: Clients
) -> tuple[list[VendorClient], Operations]:
    campaign = next(
        str(c["_id"]) for c in sandbox.state("lemlist")["campaigns"] if c["status"] == "running"
    )
    emails = [f"harsh{i}@faults.example.com" for i in range(3)]
    lemlist = clients.lemlist()
    in_campaign = {AddLeadOutcome.ADDED, AddLeadOutcome.ALREADY_IN_CAMPAIGN}

    operations: Operations = {
        "check_health": lambda: lemlist.check_health().ok,
        "list_campaigns": lambda: sorted(c.id for c in lemlist.list_campaigns()),
        "add_lead_to_campaign": lambda: [
            lemlist.add_lead_to_campaign(campaign, {"email": email}).outcome in in_campaign
            for email in emails
        ],
        "get_lead": lambda: [
            sorted(str(m.campaign_id) for m in lemlist.get_lead(email) or []) for email in emails
        ],
        "iter_unsubscribes": lambda: sorted(u.value for u in lemlist.iter_unsubscribes()),
        "iter_activities": lambda: sorted(
            str(a.id) for a in lemlist.iter_activities(NOW - timedelta(days=30))
        ),
    }
    return [lemlist], operations


def run_operations(
    sandbox: SandboxControl,
    clients: Clients,
    exercise: Exercise,
    faults: str | Mapping[str, Any],
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Reset the world, prepare (faults off), then run every operation under ``faults``;
    the outcomes and the clients' metrics."""
    sandbox.reset()
    vendor_clients, operations = exercise(sandbox, clients)
    sandbox.set_faults(dict(faults) if isinstance(faults, Mapping) else faults)
    outcomes = {name: outcome(call) for name, call in operations.items()}
    return outcomes, [dict(client.metrics_snapshot()) for client in vendor_clients]


@pytest.mark.timeout(240)
@pytest.mark.parametrize(
    ("vendor", "exercise"),
    [
        ("hubspot", hubspot_operations),
        ("explorium", explorium_operations),
        ("lemlist", lemlist_operations),
    ],
)
def test_every_operation_ends_with_the_right_result_or_a_typed_error(
    sandbox: SandboxControl, clients: Clients, vendor: str, exercise: Exercise
):
    clients.config = transport_config(read_s=READ_TIMEOUT_S)
    harsh = harsh_profile(sandbox)

    reference, _ = run_operations(sandbox, clients, exercise, "none")
    outcomes, metrics = run_operations(sandbox, clients, exercise, harsh)

    assert not [name for name, value in reference.items() if isinstance(value, ApiError)]
    wrong = {
        name: value
        for name, value in outcomes.items()
        if not isinstance(value, ApiError) and value != reference[name]
    }
    assert wrong == {}
    failed = [name for name, value in outcomes.items() if isinstance(value, ApiError)]
    assert len(failed) < len(outcomes) / 2, failed
    assert sum(int(m["timeouts"]) for m in metrics) > 0
    assert sum(int(m["retries"]) for m in metrics) > 0
