"""`sales-pipeline preview-rules`: a change of rules shown before it runs, calling no vendor."""

import re
from pathlib import Path

import pandas as pd
import pytest
import requests
from dagster import DagsterInstance, materialize

from sales_pipeline.cli import main
from sales_pipeline.cli.demo import recent_partitions, sandbox_resources
from sales_pipeline.cli.preview_rules import load_rules
from sales_pipeline.defs.assets import enriched_contacts, hubspot_contacts
from sales_pipeline.defs.io_manager import StoreFrameIOManager, decode_frame
from sales_pipeline.sandbox import SandboxConfig, SandboxHandle, run_sandbox
from sales_pipeline.store.pipeline_store import PipelineStore
from sales_pipeline.transforms.preview import preview_rules
from sales_pipeline.transforms.qualification import QualificationRules

STRICTER = """
threshold: 0.7
job_level: {weight: 3, values: {c-suite: 1, vice president: 0.9, director: 0.8}}
department: {weight: 2, values: [sales, marketing]}
allowed_email_statuses: [valid]
segments:
  - {name: executives, campaign_id: Outbound US - VPs, job_level: [c-suite, vice president]}
default_campaign_id: Nurture
"""
EMAIL = re.compile(r"[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")


@pytest.fixture(scope="module")
def stored_day(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, str]:
    """A pipeline home whose store holds one day's `enriched_contacts` (the sandbox stopped
    afterwards, so a preview that called a vendor would fail): home, day, the sandbox's
    addresses."""
    home = tmp_path_factory.mktemp("home")
    day = recent_partitions(2)[0]
    with run_sandbox(SandboxConfig(contacts=900)) as sandbox:
        resources = sandbox_resources(sandbox, home)
        io_manager = StoreFrameIOManager(store=resources.store)
        with DagsterInstance.ephemeral() as instance:
            result = materialize(
                [hubspot_contacts, enriched_contacts],
                partition_key=day,
                resources={**resources.as_dict(), "io_manager": io_manager},
                instance=instance,
            )
        assert result.success
        world = _world(sandbox)
        resources.store.close()
    return home, day, world


def _world(sandbox: SandboxHandle) -> str:
    return requests.get(f"{sandbox.control_url}/state", timeout=60).text.lower()


def _enriched(home: Path, day: str) -> pd.DataFrame:
    with PipelineStore(f"sqlite:///{home / 'store.sqlite'}") as store:
        payload = store.load_frame("enriched_contacts", day)
    assert payload is not None
    return decode_frame(payload)


def _no_suppression(frame: pd.DataFrame) -> pd.Series:
    return pd.Series(None, index=frame.index, dtype="object")


def test_the_same_rules_change_nothing(stored_day: tuple[Path, str, str]) -> None:
    enriched = _enriched(*stored_day[:2])
    rules = load_rules(None)

    preview = preview_rules(enriched, rules, rules, _no_suppression(enriched))

    assert preview.changed == 0
    assert (preview.counts["change"] == 0).all()
    assert preview.counts["before"].sum() == len(enriched)


def test_stricter_rules_qualify_fewer_and_say_who_moves(stored_day: tuple[Path, str, str]) -> None:
    enriched = _enriched(*stored_day[:2])

    preview = preview_rules(
        enriched,
        load_rules(None),
        QualificationRules.from_yaml(STRICTER),
        _no_suppression(enriched),
    )

    counts = preview.counts.set_index("route")
    qualified = ~counts.index.str.startswith("excluded")
    assert counts.loc[qualified, "after"].sum() < counts.loc[qualified, "before"].sum()
    assert counts["before"].sum() == counts["after"].sum() == len(enriched)
    assert counts["change"].sum() == 0
    assert preview.changed > 0
    assert len(preview.examples) == min(preview.changed, 10)
    assert preview.examples["email"].str.contains(r"\*\*\*@").all()
    assert (preview.examples["before"] != preview.examples["after"]).all()


def test_the_command_prints_the_table_and_masked_examples(
    stored_day: tuple[Path, str, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    home, day, world = stored_day
    rules = tmp_path / "stricter.yaml"
    rules.write_text(STRICTER, encoding="utf-8")
    monkeypatch.setenv("SALES_PIPELINE_HOME", str(home))

    code = main(["preview-rules", str(rules), "--partition", day])

    out = capsys.readouterr().out
    assert code == 0
    assert f"Rules preview for {day}" in out
    assert "executives -> Outbound US - VPs" in out
    assert "excluded: below_threshold" in out
    assert re.search(r"contacts whose route changes: [1-9]\d*", out)
    assert "***@" in out
    assert not [e for e in EMAIL.findall(out) if e.lower() in world]


def test_a_day_never_materialized_is_refused_with_the_reason(
    stored_day: tuple[Path, str, str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("SALES_PIPELINE_HOME", str(stored_day[0]))

    code = main(["preview-rules", "unused.yaml", "--partition", "2026-10-01"])

    assert code == 1
    assert "no stored enriched_contacts for 2026-10-01" in capsys.readouterr().err
