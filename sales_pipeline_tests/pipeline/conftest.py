"""Fixtures for end-to-end runs of the pipeline against the sandbox."""

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import requests

from sales_pipeline.cli.demo import recent_partitions, run_pipeline
from sales_pipeline.defs.io_manager import decode_frame
from sales_pipeline.sandbox import SandboxConfig, SandboxHandle, run_sandbox
from sales_pipeline.store.pipeline_store import PipelineStore

CONTACTS = 1500
"""About 50 contacts a day: enough for every outcome, small enough to run in seconds."""
DAYS = 2
TEST_STORE_OPTIONS = {"retry_first_delay_s": 0.0, "push_lease_s": 5.0}
"""Owed work is due again at once (the next run in a test comes seconds later, not a day), and
a claim lapses after 5 s, so a crash drill need not wait a minute."""
TEST_ENVIRONMENT = {
    "SALES_PIPELINE_RETRY_FIRST_DELAY_SECONDS": "0",
    "SALES_PIPELINE_PUSH_LEASE_SECONDS": "5",
}
""":data:`TEST_STORE_OPTIONS` for plain Dagster tooling in a child process."""


@dataclass
class PipelineWorld:
    """A sandbox, the pipeline's home folder and the partitions the tests run."""

    sandbox: SandboxHandle
    home: Path
    partitions: list[str]
    now: datetime
    store_options: dict[str, Any] = field(default_factory=lambda: dict(TEST_STORE_OPTIONS))

    def run(self) -> dict[str, Any]:
        """Run the pipeline for :attr:`partitions`; the summary."""
        return run_pipeline(
            self.sandbox,
            self.home,
            self.partitions,
            out=lambda _: None,
            store_options=self.store_options,
        )

    def state(self, vendor: str) -> dict[str, Any]:
        """The sandbox's state of one vendor."""
        answer = requests.get(f"{self.sandbox.control_url}/state?vendor={vendor}", timeout=60)
        answer.raise_for_status()
        return dict(answer.json()[vendor])

    def stats(self) -> dict[str, Any]:
        """The sandbox's request statistics."""
        return dict(requests.get(f"{self.sandbox.control_url}/stats", timeout=30).json())

    def store(self) -> PipelineStore:
        """The pipeline's store (the caller closes it)."""
        return PipelineStore(f"sqlite:///{self.home / 'store.sqlite'}")

    def frame(self, asset: str, partition: str) -> pd.DataFrame:
        """The stored output of ``asset`` for ``partition`` (it must exist)."""
        with self.store() as store:
            payload = store.load_frame(asset, partition)
        assert payload is not None, f"no stored {asset} for {partition}"
        return decode_frame(payload)

    def frames(self, asset: str) -> pd.DataFrame:
        """The stored output of ``asset`` over all partitions run."""
        with self.store() as store:
            payloads = [store.load_frame(asset, key) for key in self.partitions]
        return pd.concat([decode_frame(p) for p in payloads if p is not None], ignore_index=True)

    def lemlist_leads(self) -> list[tuple[str, str]]:
        """(campaign id, lower-cased email) of every lead in the sandbox's Lemlist."""
        campaigns = self.state("lemlist")["campaigns"]
        return [(c["_id"], lead["email"].lower()) for c in campaigns for lead in c["leads"]]


def make_world(
    tmp_path: Path, now: datetime | None = None, **config: Any
) -> Iterator[PipelineWorld]:
    """A sandbox of :data:`CONTACTS` contacts generated around ``now`` (default: now; pass
    another world's to build the same world again) and a fresh home for the pipeline."""
    now = now or datetime.now(UTC)
    with run_sandbox(SandboxConfig(contacts=CONTACTS, now=now, **config)) as handle:
        yield PipelineWorld(handle, tmp_path / "home", recent_partitions(DAYS), now)


@pytest.fixture
def world(tmp_path: Path) -> Iterator[PipelineWorld]:
    """A fresh sandbox and pipeline home."""
    yield from make_world(tmp_path)


@pytest.fixture(scope="module")
def finished_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PipelineWorld]:
    """A sandbox the pipeline has already run against once (shared by read-only tests)."""
    for world in make_world(tmp_path_factory.mktemp("finished")):
        summary = world.run()
        assert summary["failed_partitions"] == []
        yield world
