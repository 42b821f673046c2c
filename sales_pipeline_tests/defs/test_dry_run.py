"""Dry runs: exactly what would be sent, with nothing sent and nothing recorded.

The flow-level tests give :class:`Pusher` a Lemlist client that only records calls; the
asset-level tests run the daily assets against the sandbox through `materialize`.
"""

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import pytest
import requests
from dagster import (
    AssetKey,
    AssetsDefinition,
    DagsterEventType,
    DagsterInstance,
    EventRecordsFilter,
    ExecuteInProcessResult,
    materialize,
)

from sales_pipeline.cli.demo import recent_partitions, sandbox_resources
from sales_pipeline.clients import LemlistClient
from sales_pipeline.defs.assets import PIPELINE_ASSETS, hubspot_enrichment_writeback, lemlist_leads
from sales_pipeline.defs.io_manager import StoreFrameIOManager, decode_frame
from sales_pipeline.defs.resources import PipelineResources
from sales_pipeline.domain.outcomes import PushOutcome, SuppressionSource
from sales_pipeline.domain.records import Suppression
from sales_pipeline.flows.push import (
    SKIPPED_SETTLED,
    SKIPPED_SUPPRESSED,
    WOULD_SEND,
    LeadPush,
    Pusher,
)
from sales_pipeline.flows.write_back import planned_writes
from sales_pipeline.sandbox import SandboxConfig, SandboxHandle, run_sandbox
from sales_pipeline.store.backlog import Stage, WorkBacklog
from sales_pipeline.store.fingerprints import ContactFingerprints
from sales_pipeline.store.ledger import PushLedger
from sales_pipeline.store.pipeline_store import PipelineStore

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
EMAIL = re.compile(r"[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")


class RecordingLemlist:
    """A Lemlist client that records what it is asked to send and answers nothing: a dry run
    must never call it."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, Mapping[str, Any]]] = []

    def add_lead_to_campaign(
        self, campaign_id: str, lead: Mapping[str, Any], deduplicate: bool = False
    ) -> None:
        self.sent.append((campaign_id, lead))
        raise AssertionError("a dry run sent a lead")


def _push(email: str, campaign: str = "cam_1") -> LeadPush:
    return LeadPush(email, campaign, {"email": email, "variables": {"segment": "smb"}}, "smb")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[PipelineStore]:
    with PipelineStore(f"sqlite:///{tmp_path / 'store.sqlite'}") as opened:
        yield opened


def test_a_planned_push_decides_as_the_ledger_stands_and_sends_and_records_nothing(
    store: PipelineStore,
) -> None:
    ledger = PushLedger(store)
    ledger.record_push_intent("cam_1", "done@acme.com", "h", "run-0", now=NOW)
    ledger.record_push_outcome("cam_1", "done@acme.com", PushOutcome.ADDED, now=NOW)
    owed = {"email": "owed@acme.com", "variables": {"segment": "enterprise"}}
    ledger.record_push_intent("cam_2", "owed@acme.com", "h", "run-0", lead=owed, now=NOW)
    ledger.record_push_outcome("cam_2", "owed@acme.com", PushOutcome.DEFERRED, "503", now=NOW)
    store.add_suppressions([Suppression("gone@acme.com", SuppressionSource.MANUAL, NOW)])
    before = ledger.pending_pushes()
    client = RecordingLemlist()
    later = NOW + timedelta(days=1)
    pusher = Pusher(cast(LemlistClient, client), store, ledger, "dry-run", clock=lambda: later)

    plan = pusher.plan([_push("new@acme.com"), _push("done@acme.com"), _push("gone@acme.com")])

    decided = {(p.push.campaign_id, p.push.email): p.result for p in plan}
    assert decided == {
        ("cam_1", "new@acme.com"): WOULD_SEND,
        ("cam_1", "done@acme.com"): SKIPPED_SETTLED,
        ("cam_1", "gone@acme.com"): SKIPPED_SUPPRESSED,
        ("cam_2", "owed@acme.com"): WOULD_SEND,
    }
    owed_plan = next(p for p in plan if p.push.owed)
    assert owed_plan.push.lead == owed
    assert client.sent == []
    assert ledger.get_push("cam_1", "new@acme.com") is None
    assert ledger.pending_pushes() == before


def test_planned_writes_are_the_changes_and_the_due_owed_writes(store: PipelineStore) -> None:
    backlog = WorkBacklog(store)
    backlog.enqueue(Stage.WRITEBACK, [("owed@acme.com", "2026-03-01", {"sp_segment": "smb"})], NOW)
    backlog.enqueue(Stage.WRITEBACK, [("both@acme.com", "2026-03-01", {"sp_segment": "old"})], NOW)
    changes = {"both@acme.com": {"sp_segment": "new"}, "new@acme.com": {"sp_icp_score": "0.70"}}
    before = backlog.items(Stage.WRITEBACK)

    wanted = planned_writes(changes, backlog, NOW)

    assert wanted == {
        "owed@acme.com": {"sp_segment": "smb"},
        "both@acme.com": {"sp_segment": "new"},
        "new@acme.com": {"sp_icp_score": "0.70"},
    }
    assert backlog.items(Stage.WRITEBACK) == before


# Against the sandbox ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxHandle]:
    with run_sandbox(SandboxConfig(contacts=900)) as handle:
        yield handle


def _observations(instance: DagsterInstance, asset: str) -> list[dict[str, Any]]:
    records = instance.get_event_records(
        EventRecordsFilter(DagsterEventType.ASSET_OBSERVATION, asset_key=AssetKey(asset))
    )
    return [
        {k: v.value for k, v in r.asset_observation.metadata.items()}
        for r in records
        if r.asset_observation is not None
    ]


def _world_emails(sandbox: SandboxHandle) -> set[str]:
    """Every address the sandbox's vendors hold."""
    state = requests.get(f"{sandbox.control_url}/state", timeout=60).json()
    return {email.lower() for email in EMAIL.findall(json.dumps(state, ensure_ascii=False))}


def _stats(sandbox: SandboxHandle) -> dict[str, Any]:
    return dict(requests.get(f"{sandbox.control_url}/stats", timeout=30).json())


def _materialize(
    instance: DagsterInstance,
    resources: PipelineResources,
    day: str,
    selection: Sequence[AssetsDefinition] = PIPELINE_ASSETS,
    dry_run: Sequence[AssetsDefinition] = (),
) -> ExecuteInProcessResult:
    """The daily assets in ``selection`` for ``day`` on the sandbox's resources, with
    ``dry_run: true`` for the assets in ``dry_run``."""
    return materialize(
        PIPELINE_ASSETS,
        partition_key=day,
        resources={**resources.as_dict(), "io_manager": StoreFrameIOManager(store=resources.store)},
        run_config={"ops": {a.key.path[0]: {"config": {"dry_run": True}} for a in dry_run}},
        instance=instance,
        selection=[a.key for a in selection],
    )


def test_a_dry_run_of_a_day_shows_the_leads_and_sends_and_records_nothing(
    sandbox: SandboxHandle, tmp_path: Path
) -> None:
    resources = sandbox_resources(sandbox, tmp_path)
    day = recent_partitions(2)[0]
    added_before = _stats(sandbox)["lemlist"]["leads_added"]
    with DagsterInstance.ephemeral() as instance:
        pushed_run = _materialize(instance, resources, day, dry_run=[lemlist_leads])
        writeback = [hubspot_enrichment_writeback]
        written_run = _materialize(instance, resources, day, writeback, dry_run=writeback)
        push_plan = _observations(instance, lemlist_leads.key.path[0])
        write_plan = _observations(instance, hubspot_enrichment_writeback.key.path[0])
        materialized = {e.asset_key for e in pushed_run.get_asset_materialization_events()}

    assert pushed_run.success
    assert written_run.success
    assert lemlist_leads.key not in materialized
    assert hubspot_enrichment_writeback.key not in materialized
    assert _stats(sandbox)["lemlist"]["leads_added"] == added_before
    store = resources.store.get_store()
    assert store.load_frame("lemlist_leads", day) is None
    assert store.load_frame("hubspot_enrichment_writeback", day) is None
    assert resources.store.get_ledger().pending_pushes() == []
    assert resources.store.get_ledger().pushed_emails() == set()
    assert resources.store.get_backlog().items(Stage.WRITEBACK) == []
    contacts = store.load_frame("hubspot_contacts", day)
    assert contacts is not None
    assert ContactFingerprints(store).get(decode_frame(contacts)["email"]) == {}

    (push,) = push_plan
    assert push["dry_run"] is True
    assert push[WOULD_SEND] > 0
    assert "cam_" in push["plan"]
    assert "segment" in push["plan"]
    (write,) = write_plan
    assert write["would_write"] > 0
    assert "sp_icp_score" in write["plan"]
    shown = f"{push} {write}"
    assert "***@" in shown
    assert _world_emails(sandbox) & {e.lower() for e in EMAIL.findall(shown)} == set()
    assert not any(email in shown.lower() for email in _world_emails(sandbox))

    with DagsterInstance.ephemeral() as instance:
        real = _materialize(instance, resources, day, [lemlist_leads])
    assert real.success
    payload = store.load_frame("lemlist_leads", day)
    assert payload is not None
    sent = decode_frame(payload)
    assert (sent["result"] == PushOutcome.ADDED.value).sum() == push[WOULD_SEND]
    assert _stats(sandbox)["lemlist"]["leads_added"] == added_before + push[WOULD_SEND]
