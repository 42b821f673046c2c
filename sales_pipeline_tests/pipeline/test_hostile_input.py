"""Hostile input end to end: the corpus written into HubSpot, one day run, every record
accounted for, nothing unsafe sent, no personal data or secret in what Dagster stored."""

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from sales_pipeline.domain.text import TextField, text_problem
from sales_pipeline.store.ledger import PushLedger
from sales_pipeline_tests.hostile import CORPUS, HUBSPOT_PROPERTIES, Case
from sales_pipeline_tests.pipeline.conftest import PipelineWorld, make_world

LEAD_FIELDS = {
    "firstName": TextField.FIRST_NAME,
    "lastName": TextField.LAST_NAME,
    "companyName": TextField.COMPANY_NAME,
    "jobTitle": TextField.JOB_TITLE,
    "phone": TextField.PHONE,
    "linkedinUrl": TextField.LINKEDIN_URL,
    "companyDomain": TextField.COMPANY_DOMAIN,
}
"""Lemlist lead field -> the text policy field it must satisfy."""


def _hubspot(
    world: PipelineWorld, method: str, path: str, body: dict[str, Any]
) -> requests.Response:
    return requests.request(
        method,
        f"{world.sandbox.hubspot_url}/crm/v3/objects/contacts{path}",
        json=body,
        headers={"Authorization": f"Bearer {world.sandbox.credentials.hubspot_token}"},
        timeout=30,
    )


@dataclass
class HostileRun:
    """A sandbox whose contacts carry the hostile corpus, after one run of today."""

    world: PipelineWorld
    hostile: dict[str, Case]
    """HubSpot id -> the case its contact carries."""
    emails: dict[str, str]
    """HubSpot id -> lower-cased email (empty when it has none), of every contact."""
    summary: dict[str, Any]


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HostileRun]:
    for world in make_world(tmp_path_factory.mktemp("hostile")):
        world.partitions = world.partitions[-1:]
        hostile = _write_corpus(world, world.state("hubspot")["contacts"])
        emails = {
            str(c["id"]): str(c["properties"].get("email") or "").strip().lower()
            for c in world.state("hubspot")["contacts"]
        }
        yield HostileRun(world, hostile, emails, world.run())


def _write_corpus(world: PipelineWorld, contacts: list[dict[str, Any]]) -> dict[str, Case]:
    """Each non-email case written over one existing contact's property, each email case as a
    new contact; returns the id of every contact HubSpot accepted, with its case."""
    written: dict[str, Case] = {}
    cases = [c for c in CORPUS if c.field in HUBSPOT_PROPERTIES]
    values = [c for c in cases if c.field is not TextField.EMAIL]
    for contact, case in zip(contacts[: len(values)], values, strict=True):
        body = {"properties": {HUBSPOT_PROPERTIES[case.field]: case.raw}}
        if _hubspot(world, "PATCH", f"/{contact['id']}", body).ok:
            written[str(contact["id"])] = case
    for number, case in enumerate(c for c in cases if c.field is TextField.EMAIL):
        body = {"properties": {"email": case.raw, "firstname": "Corpus", "lastname": str(number)}}
        created = _hubspot(world, "POST", "", body)
        if created.ok:
            written[str(created.json()["id"])] = case
    assert len(written) > len(cases) // 2, "the corpus must reach the pipeline"
    return written


def test_no_step_fails_on_hostile_input(run: HostileRun) -> None:
    assert run.summary["failed_partitions"] == []


def test_every_hostile_record_lands_or_says_why_not(run: HostileRun) -> None:
    day = run.world.partitions[0]
    with run.world.store() as store:
        quarantined = {r.record_key for r in store.quarantined(day)}
        ledger = PushLedger(store)
        settled = ledger.settled_pushes(run.emails.values())
        assert ledger.pending_pushes() == []
    leads = run.world.frame("qualified_leads", day)
    merged = {i for ids in leads["merged_ids"].dropna() for i in ids.split(",")}
    leads = leads.set_index("hubspot_id")
    unaccounted = []
    for record_id, case in run.hostile.items():
        if record_id in leads.index and leads.loc[record_id, "excluded"]:
            accounted = bool(leads.loc[record_id, "exclusion_reason"])
        elif record_id in leads.index:
            accounted = leads.loc[record_id, "email"] in settled
        else:
            accounted = (
                record_id in quarantined
                or run.emails[record_id] in quarantined
                or record_id in merged
            )
        if not accounted:
            unaccounted.append(case.name)
    assert unaccounted == []


def test_nothing_unsafe_reaches_lemlist(run: HostileRun) -> None:
    campaigns = run.world.state("lemlist")["campaigns"]
    leads = [lead for campaign in campaigns for lead in campaign["leads"]]
    assert leads
    problems = [
        (name, text_problem(str(lead[name]), field))
        for lead in leads
        for name, field in LEAD_FIELDS.items()
        if lead.get(name) is not None and text_problem(str(lead[name]), field) is not None
    ]
    assert problems == []


def test_nothing_unsafe_is_written_back_to_hubspot(run: HostileRun) -> None:
    written = [
        value
        for contact in run.world.state("hubspot")["contacts"]
        for name, value in contact["properties"].items()
        if name.startswith("sp_") and value
    ]
    assert written
    assert [v for v in written if text_problem(v, TextField.LEMLIST_VARIABLE)] == []


def test_no_email_phone_or_secret_in_what_dagster_stored(run: HostileRun) -> None:
    """The event log, run storage and compute logs under the Dagster home (the pipeline's own
    store holds emails by design and is not scanned)."""
    credentials = run.world.sandbox.credentials
    secrets = {credentials.hubspot_token, credentials.explorium_key, credentials.lemlist_key}
    contacts = run.world.state("hubspot")["contacts"]
    phones = {str(c["properties"].get("phone") or "") for c in contacts} - {""}
    emails = set(run.emails.values()) - {""}
    found: list[str] = []
    for path in _files(run.world.home / "dagster"):
        text = path.read_bytes().decode("utf-8", "replace").lower()
        found += [f"{path.name}: email" for e in emails if e in text][:1]
        found += [f"{path.name}: secret" for s in secrets if s.lower() in text][:1]
        found += [f"{path.name}: phone" for p in phones if len(p) >= 8 and p.lower() in text][:1]
    assert found == []


def _files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and p.stat().st_size < 200_000_000]
