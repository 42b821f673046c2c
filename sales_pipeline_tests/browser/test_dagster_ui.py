"""The pipeline as an operator sees it in Dagster's UI, in a real (headless) Chromium.

One test walks the path the README gives: ``sales-pipeline dev``, the asset graph, the
``lemlist_leads`` asset, its job's **Materialize all…** for one day picked in the partition
selector, then the pages that show the result. The run's config, typed into the launch dialog's
config editor, executes the steps in one process (``in_process``, as the README advises for
backfills): the same code, without a process start per step on a small machine.

Screenshots of the main steps land in ``$SALES_PIPELINE_TEST_ARTIFACTS`` (else the test's tmp
folder), with one more of the page as it was when a step failed.
"""

import json
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests
from playwright.sync_api import Locator, Page, expect

from sales_pipeline.defs.partitions import daily_partitions
from sales_pipeline_tests.browser.conftest import DevServer

pytestmark = [pytest.mark.browser, pytest.mark.timeout(600)]

JOB = "lead_pipeline"
IN_PROCESS_CONFIG = "execution:\n  config:\n    in_process: {}\n"
PUSHED_KEY = "added"
"""The ``lemlist_leads`` metadata key counting the leads Lemlist accepted in this run."""
PUSH_CHECK = "lemlist_push_failure_rate"
RUN_TIMEOUT_S = 300
EMAIL = re.compile(r"[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")

RUN_STATUS = "query RunStatus($runId: ID!) { runOrError(runId: $runId) { ... on Run { status } } }"


@contextmanager
def screenshot_on_failure(page: Page, folder: Path) -> Iterator[None]:
    """Save the page as it is when the block fails, and name the folder in the failure."""
    try:
        yield
    except BaseException as failure:
        page.screenshot(path=folder / "failure.png")
        failure.add_note(f"screenshots: {folder}")
        raise


def world_emails(sandbox_url: str) -> set[str]:
    """Every address the sandbox's vendors hold (HubSpot contacts, Lemlist leads, unsubscribes)."""
    answer = requests.get(f"{sandbox_url}/_sandbox/state", timeout=60)
    answer.raise_for_status()
    return {email.lower() for email in EMAIL.findall(json.dumps(answer.json(), ensure_ascii=False))}


def emails_in(text: str, world: set[str]) -> set[str]:
    """The addresses ``text`` shows: anything shaped like one, and any of the world's."""
    lowered = text.lower()
    return {email.lower() for email in EMAIL.findall(text)} | {e for e in world if e in lowered}


def wait_for_run(dev: DevServer, run_id: str) -> str:
    """The run's final status, polled from the webserver's GraphQL API."""
    deadline = time.monotonic() + RUN_TIMEOUT_S
    status = "unknown"
    while time.monotonic() < deadline:
        run = dev.graphql(RUN_STATUS, runId=run_id)["runOrError"]
        status = str(run.get("status", "unknown")) if isinstance(run, dict) else "unknown"
        if status in {"SUCCESS", "FAILURE", "CANCELED"}:
            return status
        time.sleep(1)
    return f"{status} after {RUN_TIMEOUT_S} s"


def open_asset_from_the_graph(page: Page, ui_url: str, asset: str, group: str, check: str) -> None:
    """Lineage: unfold ``group`` in the graph's sidebar, select ``asset``, and wait for the
    asset's panel to list ``check``."""
    page.goto(f"{ui_url}/asset-groups")
    page.get_by_text(group, exact=True).first.click()
    page.keyboard.press("ArrowRight")
    page.get_by_text(asset, exact=True).first.click()
    expect(page.get_by_text("View in Asset Catalog")).to_be_visible()
    expect(page.get_by_text(check, exact=True).first).to_be_visible()


def prepare_one_day(page: Page, day: str) -> Locator:
    """On a job's page: Materialize all…, ``day`` typed in the partition selector, the run config
    saved from the config editor; the dialog's launch button, ready."""
    page.get_by_role("button", name="Materialize all").click()
    dialog = page.get_by_role("dialog").filter(has_text="Launch runs to materialize")
    partitions = dialog.get_by_placeholder("No matching partitions")
    partitions.fill(day)
    partitions.press("Enter")
    expect(dialog.get_by_text("1 partition", exact=True)).to_be_visible()
    dialog.get_by_text("Config", exact=True).click()
    dialog.get_by_text("Add config").click()
    editor = page.get_by_role("dialog").filter(has_text="Config Editor")
    editor.locator(".CodeMirror").click()
    page.keyboard.insert_text(IN_PROCESS_CONFIG)
    expect(editor.get_by_text("No errors")).to_be_visible()
    editor.get_by_role("button", name="Save config").click()
    expect(editor).to_be_hidden()
    launch = dialog.get_by_role("button", name="Launch 1 run")
    expect(launch).to_be_enabled()
    return launch


def launch_and_open_the_run(page: Page, launch: Locator) -> str:
    """Launch, then open the run named by the launch notice from the Runs list; its id."""
    launch.click()
    notice = page.get_by_text(re.compile(r"^Launched run [0-9a-f]{8}$"))
    short_id = notice.inner_text().split()[-1]
    page.get_by_role("navigation").get_by_text("Runs", exact=True).click()
    page.get_by_role("link", name=short_id).click()
    expect(page).to_have_url(re.compile(rf"/runs/{short_id}[0-9a-f-]{{28}}"))
    return page.url.rsplit("/", 1)[-1].split("?")[0]


def metadata_value(page: Page, key: str) -> str:
    """The value beside ``key`` in an asset page's metadata table."""
    row = page.get_by_role("row").filter(has=page.get_by_role("cell", name=key, exact=True))
    return row.get_by_role("cell").last.inner_text().strip()


def sample_text(page: Page) -> str:
    """What the ``sample`` metadata entry of an asset page shows once opened."""
    row = page.get_by_role("row").filter(has=page.get_by_role("cell", name="sample", exact=True))
    row.get_by_text("[Show Markdown]").click()
    sample = page.get_by_role("dialog").filter(has_text="sample")
    expect(sample).to_contain_text("***@")  # the masked addresses are there, and masked
    text = sample.inner_text()
    sample.get_by_role("button", name="Close").click()
    return text


def test_a_day_launched_from_the_ui_shows_its_counts_and_check_and_no_email(
    page: Page, dev_server: DevServer, artifacts: Path
) -> None:
    ui = dev_server.ui_url
    day = daily_partitions.get_partition_keys()[-2]  # the last complete UTC day
    world = world_emails(dev_server.sandbox_url)
    assert world, "the sandbox's world holds no address to look for"
    seen: dict[str, str] = {}
    with screenshot_on_failure(page, artifacts):
        open_asset_from_the_graph(page, ui, "lemlist_leads", "daily_pipeline", PUSH_CHECK)
        page.screenshot(path=artifacts / "1-asset-graph.png")
        seen["asset graph"] = page.inner_text("body")
        page.get_by_text("View in Asset Catalog").click()
        page.get_by_role("link", name=JOB, exact=True).click()  # the asset's job
        expect(page).to_have_url(re.compile(rf"/jobs/{JOB}"))
        launch = prepare_one_day(page, day)
        page.screenshot(path=artifacts / "2-launch-one-day.png")
        run_id = launch_and_open_the_run(page, launch)
        assert wait_for_run(dev_server, run_id) == "SUCCESS"
        page.reload()
        expect(page.get_by_text("Success", exact=True).first).to_be_visible()
        seen["run"] = page.inner_text("body")

        page.goto(f"{ui}/assets/lemlist_leads")
        expect(page.get_by_text(day, exact=True).first).to_be_visible()
        stats = requests.get(f"{dev_server.sandbox_url}/_sandbox/stats", timeout=60).json()
        leads_lemlist_received = int(stats["lemlist"]["leads_added"])
        assert leads_lemlist_received > 0
        assert metadata_value(page, PUSHED_KEY) == str(leads_lemlist_received)
        page.screenshot(path=artifacts / "3-lemlist-leads.png")
        seen["lemlist_leads"] = page.inner_text("body")

        page.get_by_role("tab", name="Checks").click()
        expect(page.get_by_text(PUSH_CHECK).first).to_be_visible()
        expect(page.get_by_text("Passed", exact=True)).to_be_visible()
        seen["lemlist_leads checks"] = page.inner_text("body")

        page.goto(f"{ui}/assets/hubspot_contacts")
        seen["hubspot_contacts sample"] = sample_text(page)
        seen["hubspot_contacts"] = page.inner_text("body")

        shown = {name: emails_in(text, world) for name, text in seen.items()}
        assert {name: found for name, found in shown.items() if found} == {}
