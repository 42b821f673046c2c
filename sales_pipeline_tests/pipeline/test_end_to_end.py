"""The pipeline end to end against the sandbox: what lands in Lemlist and HubSpot."""

import logging
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests
from dagster import DagsterInstance
from dagster._core.instance.ref import InstanceRef

from sales_pipeline.cli.demo import recent_partitions, sandbox_environment
from sales_pipeline.store.backlog import Stage, WorkBacklog, WorkState
from sales_pipeline.store.ledger import PushLedger
from sales_pipeline_tests.pipeline.conftest import TEST_ENVIRONMENT, PipelineWorld, make_world


def _qualified_emails(world: PipelineWorld) -> set[tuple[str, str]]:
    leads = world.frames("qualified_leads")
    chosen = leads[~leads["excluded"]]
    return set(zip(chosen["campaign_id"], chosen["email"], strict=True))


def test_lemlist_holds_exactly_the_qualified_leads(finished_world: PipelineWorld) -> None:
    in_lemlist = finished_world.lemlist_leads()
    assert len(in_lemlist) == len(set(in_lemlist)), "a lead was pushed twice"
    assert len({email for _, email in in_lemlist}) == len(in_lemlist), "a lead is in two campaigns"
    assert set(in_lemlist) == _qualified_emails(finished_world)
    assert len(in_lemlist) > 20


def test_nobody_unsubscribed_opted_out_or_invalid_is_pushed(
    finished_world: PipelineWorld,
) -> None:
    pushed = {email for _, email in finished_world.lemlist_leads()}
    unsubscribes = [u["value"].lower() for u in finished_world.state("lemlist")["unsubscribes"]]
    assert not pushed & {u for u in unsubscribes if not u.startswith("@")}
    domains = {u for u in unsubscribes if u.startswith("@")}
    assert not {e for e in pushed if "@" + e.rpartition("@")[2] in domains}
    contacts = finished_world.state("hubspot")["contacts"]
    opted_out = {
        (c["properties"]["email"] or "").lower()
        for c in contacts
        if c["properties"].get("hs_email_optout") == "true"
    }
    assert not pushed & opted_out
    enriched = finished_world.frames("enriched_contacts").set_index("email")
    assert set(enriched.loc[list(pushed), "email_status"]) <= {"valid", "catch-all"}


def test_hubspot_carries_the_writeback(finished_world: PipelineWorld) -> None:
    contacts = finished_world.state("hubspot")["contacts"]
    written = {
        (c["properties"].get("email") or "").lower(): c["properties"]
        for c in contacts
        if c["properties"].get("sp_enrichment_status")
    }
    leads = finished_world.frames("qualified_leads")
    assert set(leads["email"]) <= set(written)
    for campaign, email in finished_world.lemlist_leads():
        assert written[email]["sp_lemlist_campaign"] == campaign
        assert written[email]["sp_push_status"] == "added"
        assert 0.0 <= float(written[email]["sp_icp_score"]) <= 1.0


def test_quarantined_contacts_are_recorded_with_their_reason(
    finished_world: PipelineWorld,
) -> None:
    with finished_world.store() as store:
        records = [r for key in finished_world.partitions for r in store.quarantined(key)]
    assert records, "the sandbox's messy contacts must be quarantined, not dropped"
    assert {r.field for r in records} >= {"email"}
    assert all(r.reason for r in records)
    assert not any("@" in r.masked_record_json.split("***")[0] for r in records)


@pytest.mark.slow  # whole pipeline runs or real time windows: tens of seconds
def test_a_second_run_changes_nothing(world: PipelineWorld) -> None:
    first = world.run()
    leads, credits = world.lemlist_leads(), world.stats()["explorium"]["credits_used"]
    second = world.run()
    assert second["failed_partitions"] == []
    assert second["pipeline"]["pushed"] == 0
    assert first["pipeline"]["pushed"] > 0
    assert second["pipeline"]["qualified"] == 0, "everyone is already pushed or excluded"
    assert second["pipeline"]["enriched (new)"] == 0
    assert world.lemlist_leads() == leads
    assert world.stats()["explorium"]["credits_used"] == credits


@pytest.mark.slow  # whole pipeline runs or real time windows: tens of seconds
def test_mild_faults_reach_the_same_final_state(world: PipelineWorld, tmp_path: Path) -> None:
    world.run()
    for faulty in make_world(tmp_path / "mild", now=world.now, faults="mild"):
        summary = faulty.run()
        assert summary["failed_partitions"] == []
        assert faulty.stats()["lemlist"]["faults_injected"], "the profile injected nothing"
        assert sorted(faulty.lemlist_leads()) == sorted(world.lemlist_leads())


def _hubspot_outcomes(world: PipelineWorld) -> dict[str, tuple[str, str]]:
    """Per contact email, the push status and campaign the writeback left in HubSpot."""
    return {
        str(c["properties"].get("email") or "").lower(): (
            c["properties"].get("sp_push_status") or "",
            c["properties"].get("sp_lemlist_campaign") or "",
        )
        for c in world.state("hubspot")["contacts"]
        if c["properties"].get("sp_push_status")
    }


@pytest.mark.slow  # several runs of the pipeline under heavy faults
@pytest.mark.timeout(900)
def test_harsh_faults_converge_to_the_state_of_a_clean_run(
    world: PipelineWorld, tmp_path: Path
) -> None:
    """Under the harsh profile (5xx, 429 bursts, hangs, drops after processing, truncated and
    malformed answers) runs defer what they cannot finish; later runs drain it, and Lemlist
    and HubSpot end as a clean run leaves them: no lead lost, none doubled."""
    world.run()
    for faulty in make_world(tmp_path / "harsh", now=world.now, faults="harsh"):
        for _ in range(4):
            faulty.run()
            with faulty.store() as store:
                owed = PushLedger(store).pending_pushes()
                if not owed and not WorkBacklog(store).items(state=WorkState.DUE):
                    break
        assert faulty.stats()["lemlist"]["faults_injected"], "the profile injected nothing"
        leads = faulty.lemlist_leads()
        assert len(leads) == len(set(leads)), "a lead was pushed twice"
        assert sorted(leads) == sorted(world.lemlist_leads())
        assert _hubspot_outcomes(faulty) == _hubspot_outcomes(world)


def _materialize(world: PipelineWorld, selection: str, partition: str) -> subprocess.Popen[bytes]:
    """``dagster asset materialize`` in a child process, as an operator would run it."""
    (world.home / "dagster").mkdir(parents=True, exist_ok=True)
    command = [
        *(sys.executable, "-m", "dagster", "asset", "materialize"),
        *("-m", "sales_pipeline.definitions", "--select", selection, "--partition", partition),
    ]
    return subprocess.Popen(
        command,
        env={**os.environ, **sandbox_environment(world.sandbox, world.home), **TEST_ENVIRONMENT},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


@pytest.mark.slow  # starts `dagster asset materialize` processes: minutes
@pytest.mark.timeout(900)
def test_plain_dagster_tooling_materializes_a_partition(world: PipelineWorld) -> None:
    partition = world.partitions[0]
    assert _materialize(world, "*", partition).wait(timeout=300) == 0
    assert world.lemlist_leads()
    with world.store() as store:
        assert store.load_frame("hubspot_enrichment_writeback", partition) is not None


@pytest.mark.slow  # starts `dagster asset materialize` processes: minutes
@pytest.mark.timeout(900)
def test_a_run_killed_while_pushing_then_rerun_at_once_ends_like_an_uninterrupted_one(
    world: PipelineWorld, tmp_path: Path
) -> None:
    """kill -9 of the whole materialize process tree mid-push, then an immediate re-run of the
    same day with nothing marked (the default run launcher never notices the death): the
    re-run waits out the dead run's leases, takes its claims over, and leaves none pending."""
    partition = world.partitions[0]
    upstream = _materialize(world, "hubspot_contacts,enriched_contacts,qualified_leads", partition)
    assert upstream.wait(timeout=300) == 0
    pushing = _materialize(world, "lemlist_leads", partition)
    deadline = time.monotonic() + 120
    while len(world.lemlist_leads()) < 5 and time.monotonic() < deadline:
        time.sleep(0.2)
    os.killpg(pushing.pid, signal.SIGKILL)
    pushing.wait(timeout=30)
    interrupted = len(world.lemlist_leads())
    assert _materialize(world, "lemlist_leads", partition).wait(timeout=300) == 0
    assert 5 <= interrupted < len(world.lemlist_leads())
    with world.store() as store:
        assert PushLedger(store).pending_pushes() == [], "a lead was left pending"
    for reference in make_world(tmp_path / "reference", now=world.now):
        reference.partitions = [partition]
        reference.run()
        assert sorted(world.lemlist_leads()) == sorted(reference.lemlist_leads())


@pytest.mark.slow  # whole pipeline runs or real time windows: tens of seconds
def test_contacts_deferred_for_two_days_are_finished_by_a_later_days_run(
    world: PipelineWorld,
) -> None:
    """Explorium out of credits while two days run, then credits back: the next run of a later
    day enriches the deferred contacts of both days and pushes those that qualify, with no
    re-run of either day."""
    *outage, later_day = recent_partitions(3)
    limits = f"{world.sandbox.control_url}/limits"
    requests.put(limits, json={"explorium": {"credits": 40}}, timeout=10).raise_for_status()
    world.partitions = outage
    degraded = world.run()
    assert degraded["failed_partitions"] == []
    deferred = world.frames("enriched_contacts").query("enrichment_status == 'deferred'")
    assert set(deferred["modified_at"].dt.strftime("%Y-%m-%d")) == set(outage)
    pushed = {email for _, email in world.lemlist_leads()}
    assert not pushed & set(deferred["email"]), "a deferred contact was pushed unenriched"

    requests.put(limits, json={"explorium": {"credits": 1_000_000}}, timeout=10)
    world.partitions = [later_day]
    recovered = world.run()
    assert recovered["failed_partitions"] == []
    finished = world.frame("qualified_leads", later_day).set_index("email")
    owed = finished.loc[sorted(set(deferred["email"]))]
    assert set(owed["enrichment_status"]) <= {"enriched", "unmatched"}
    in_lemlist = {email for _, email in world.lemlist_leads()}
    chosen = set(owed.index[~owed["excluded"]])
    assert chosen, "some deferred contacts qualify once enriched"
    assert chosen <= in_lemlist
    assert owed.loc[owed["excluded"], "exclusion_reason"].notna().all()
    with world.store() as store:
        assert WorkBacklog(store).due(Stage.ENRICH, datetime.now(UTC)) == []


def test_every_request_log_carries_the_dagster_run_id(
    world: PipelineWorld, caplog: pytest.LogCaptureFixture
) -> None:
    world.partitions = world.partitions[-1:]
    with caplog.at_level(logging.INFO, logger="sales_pipeline"):
        world.run()
    exchanges = [r for r in caplog.records if hasattr(r, "http_status")]
    assert {getattr(r, "vendor", None) for r in exchanges} == {"hubspot", "explorium", "lemlist"}
    run_ids = {getattr(r, "run_id", None) for r in exchanges}
    assert None not in run_ids
    with DagsterInstance.from_ref(InstanceRef.from_dir(str(world.home / "dagster"))) as instance:
        known = {run.run_id for run in instance.get_runs()}
    assert run_ids <= known


@pytest.mark.slow  # starts `dagster asset materialize` processes: minutes
@pytest.mark.timeout(900)
def test_terminating_a_push_while_lemlist_hangs_stops_at_once_and_frees_its_claims(
    world: PipelineWorld,
) -> None:
    """Lemlist holds every request (a hang fault far longer than any timeout); the pushing
    step is terminated (SIGINT, what Dagster's termination sends the step): it stops within
    seconds, not after its timeouts, and leaves its claims free for the next run at once."""
    partition = world.partitions[0]
    upstream = _materialize(world, "hubspot_contacts,enriched_contacts,qualified_leads", partition)
    assert upstream.wait(timeout=300) == 0
    control = world.sandbox.control_url
    hang = {"lemlist": {"hang": {"probability": 1.0, "seconds": 600}}}
    requests.put(f"{control}/faults", json=hang, timeout=10).raise_for_status()
    pushing = _materialize(world, "lemlist_leads", partition)
    deadline = time.monotonic() + 240
    while requests.get(f"{control}/hangs", timeout=10).json()["held"] == 0:
        assert time.monotonic() < deadline, "the push never reached Lemlist"
        time.sleep(0.2)
    terminated = time.monotonic()
    os.killpg(pushing.pid, signal.SIGINT)
    pushing.wait(timeout=60)
    stopped_after = time.monotonic() - terminated
    requests.post(f"{control}/hangs/release", timeout=10)
    assert stopped_after < 30, f"the step ran on for {stopped_after:.0f} s after termination"
    with world.store() as store:
        ledger = PushLedger(store)
        held = ledger.pending_pushes()
        assert held, "the push had claimed the lead it was sending"
        assert {p.email for p in ledger.due_pushes(datetime.now(UTC))} == {p.email for p in held}
