"""A burst of 1,000 HubSpot deliveries from the sandbox, with the receiver killed mid-way."""

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa

from sales_pipeline.store.pipeline_store import PipelineStore
from sales_pipeline.store.tables import webhook_inbox
from sales_pipeline_tests.webhooks.conftest import Vendors, free_port, wait_for

BURST = 1000


class ReceiverProcess:
    """``sales-pipeline webhooks`` in a process of its own, on a fixed port across restarts."""

    def __init__(self, port: int, environment: dict[str, str]) -> None:
        self.port = port
        self.environment = environment
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        command = [
            str(Path(sys.executable).parent / "sales-pipeline"),
            "webhooks",
            "--port",
            str(self.port),
        ]
        self.process = subprocess.Popen(
            command, env=self.environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        wait_for(self.healthy, "the receiver to start")

    def healthy(self) -> bool:
        try:
            answer = requests.get(f"http://127.0.0.1:{self.port}/healthz", timeout=1)
        except requests.ConnectionError:
            return False
        return answer.status_code == 200

    def kill(self) -> None:
        """SIGKILL: no graceful shutdown, requests in flight are cut."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)


@pytest.fixture
def receiver_process(vendors: Vendors, tmp_path: Path) -> Iterator[ReceiverProcess]:
    environment = {
        **os.environ,
        "SALES_PIPELINE_HOME": str(tmp_path / "home"),
        "SALES_PIPELINE_DATABASE_URL": f"sqlite:///{tmp_path / 'store.sqlite'}",
        "HUBSPOT_CLIENT_SECRET": vendors.handle.credentials.hubspot_client_secret,
    }
    process = ReceiverProcess(free_port(), environment)
    try:
        yield process
    finally:
        process.stop()


def _event_ids(store: PipelineStore) -> list[str]:
    with store.engine.begin() as conn:
        return list(conn.scalars(sa.select(webhook_inbox.c.event_id)))


@pytest.mark.slow  # whole pipeline runs or real time windows: tens of seconds
def test_a_burst_survives_a_receiver_killed_mid_way(
    vendors: Vendors, receiver_process: ReceiverProcess
) -> None:
    receiver_process.start()
    store = PipelineStore(receiver_process.environment["SALES_PIPELINE_DATABASE_URL"])
    vendors.control(
        "PUT",
        "webhooks",
        {
            "hubspot_target_url": f"http://127.0.0.1:{receiver_process.port}/webhooks/hubspot",
            "hubspot_batch_size": 1,
        },
    )
    vendors.create_contacts(BURST, prefix="burst")
    wait_for(lambda: len(_event_ids(store)) >= BURST // 5, "a fifth of the burst")

    receiver_process.kill()
    wait_for(lambda: vendors.webhook_stats("hubspot")["failed_attempts"] > 0, "failed attempts")
    receiver_process.start()
    vendors.advance_clock(24 * 3600)  # every retry waiting is due now

    def settled() -> bool:
        stats = vendors.webhook_stats("hubspot")
        return stats["pending"] == 0 and stats["delivered"] + stats["gave_up"] == stats["queued"]

    wait_for(settled, "every delivery to settle")
    stats = vendors.webhook_stats("hubspot")
    assert (stats["queued"], stats["delivered"], stats["gave_up"]) == (BURST, BURST, 0)
    assert stats["retries"] > 0
    stored = _event_ids(store)
    assert len(stored) == BURST, "nothing doubled"
    assert set(stored) == {str(n) for n in range(1, BURST + 1)}, "nothing lost"
    store.close()
