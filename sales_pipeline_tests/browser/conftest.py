"""Fixtures of the browser test: ``sales-pipeline dev`` in a temp folder on free ports, and a
headless Chromium page driven by Playwright.

Playwright (Microsoft's browser automation library, with waits on selectors and text built in)
drives Debian's ``chromium`` through ``executable_path``: no browser is ever downloaded, and its
driver ships inside the Python wheel.
"""

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page, Playwright, sync_playwright

REPOSITORY = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS_ENV = "SALES_PIPELINE_TEST_ARTIFACTS"
UI_TIMEOUT_MS = 60_000
"""How long a click or a wait for text may take: generous, the machine is shared and small."""
STARTUP_TIMEOUT_S = 240
STOP_TIMEOUT_S = 90
"""How long `dev` may take to stop the webserver, daemon and code servers after SIGTERM."""
INHERITED_PREFIXES = ("SALES_PIPELINE_", "DAGSTER_", "HUBSPOT_", "EXPLORIUM_", "LEMLIST_")
"""Variables of the caller's environment that could point ``dev`` at another instance, store or
vendor; the test's ``dev`` starts without them."""
DEV_COMMAND = [sys.executable, "-m", "sales_pipeline.cli", "dev"]
CONTACTS = 1500
"""About 50 contacts a day in the sandbox: a day's run pushes a couple of dozen leads."""
SANDBOX_LINE = re.compile(r"sandbox serving on (http://\S+?);")


@dataclass(frozen=True)
class DevServer:
    """A running ``sales-pipeline dev``: the Dagster UI and the sandbox it points at."""

    ui_url: str
    sandbox_url: str

    def graphql(self, query: str, **variables: object) -> dict[str, object]:
        """The ``data`` of a GraphQL query to the webserver."""
        answer = requests.post(
            f"{self.ui_url}/graphql", json={"query": query, "variables": variables}, timeout=60
        )
        answer.raise_for_status()
        return dict(answer.json()["data"])


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _dev_environment(home: Path) -> dict[str, str]:
    inherited = {k: v for k, v in os.environ.items() if not k.startswith(INHERITED_PREFIXES)}
    # PYTHONUNBUFFERED: `dev` prints the sandbox's address before handing over to Dagster.
    return {**inherited, "SALES_PIPELINE_HOME": str(home), "PYTHONUNBUFFERED": "1"}


def _wait_until_serving(process: subprocess.Popen[bytes], log: Path, ui_url: str) -> str:
    """The sandbox's URL once ``dev`` printed it and the webserver answers."""
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    sandbox_url = None
    while time.monotonic() < deadline and process.poll() is None:
        found = SANDBOX_LINE.search(log.read_text(errors="replace"))
        sandbox_url = found.group(1) if found else None
        try:
            if sandbox_url and requests.get(f"{ui_url}/server_info", timeout=5).ok:
                return sandbox_url
        except requests.ConnectionError:
            pass
        time.sleep(0.5)
    tail = log.read_text(errors="replace")[-3000:]
    pytest.fail(f"`sales-pipeline dev` did not serve within {STARTUP_TIMEOUT_S} s:\n{tail}")


def _stop_dev(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM to ``dev``, which stops ``dagster dev`` and everything it started (they run in a
    process group of their own); then SIGKILL to both groups, for whatever did not stop."""
    found = subprocess.run(
        ["pgrep", "-P", str(process.pid)], capture_output=True, text=True, check=False
    )
    groups = [process.pid, *(int(pid) for pid in found.stdout.split())]
    process.send_signal(signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=STOP_TIMEOUT_S)
    for group in groups:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(group, signal.SIGKILL)
    process.wait(timeout=60)


@pytest.fixture
def dev_server(tmp_path: Path) -> Iterator[DevServer]:
    """``sales-pipeline dev`` (sandbox, webserver, daemon) on this checkout's definitions, run from
    a temp folder holding a copy of the repository's ``dagster.yaml``, as from the repository
    root: its instance (queue, pools, run retries) with every file in the temp folder. Stopped
    at the end as an operator stops it (:func:`_stop_dev`), whatever happened."""
    folder = tmp_path / "dev"
    folder.mkdir()
    shutil.copy(REPOSITORY / "dagster.yaml", folder)
    port = _free_port()
    log = tmp_path / "dev.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [*DEV_COMMAND, "--port", str(port), "--contacts", str(CONTACTS)],
            cwd=folder,
            env=_dev_environment(folder / ".sales_pipeline_home"),
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        ui_url = f"http://127.0.0.1:{port}"
        dev = DevServer(ui_url, _wait_until_serving(process, log, ui_url))
        yield dev
    finally:
        _stop_dev(process)


@pytest.fixture
def artifacts(tmp_path: Path) -> Path:
    """Where the screenshots go: ``$SALES_PIPELINE_TEST_ARTIFACTS`` or the test's tmp folder."""
    folder = Path(os.environ.get(ARTIFACTS_ENV) or tmp_path) / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _playwright_or_skip() -> Playwright:
    missing = None if CHROMIUM.is_file() else f"no {CHROMIUM}"
    if missing is None:
        try:
            return sync_playwright().start()
        except PlaywrightError as error:
            missing = f"Playwright's driver does not start: {error}"
    pytest.skip(
        f"needs Debian's chromium and Playwright's driver ({missing}); "
        "`apt-get install -y chromium` and `uv sync` provide them, as .ci/run does"
    )


@pytest.fixture
def page(tmp_path: Path) -> Iterator[Page]:
    """A page of a fresh headless Chromium (own profile folder), 1600x1000, whose waits last up
    to a minute."""
    playwright = _playwright_or_skip()
    try:
        browser = playwright.chromium.launch_persistent_context(
            tmp_path / "chromium-profile",
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1600, "height": 1000},
        )
        browser.set_default_timeout(UI_TIMEOUT_MS)
        yield browser.new_page()
        browser.close()
    finally:
        playwright.stop()
