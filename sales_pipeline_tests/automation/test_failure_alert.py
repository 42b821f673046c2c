"""The run-failure alert: a record in the store and a redacted webhook, with no secret or PII."""

import json
import threading
from collections.abc import Iterator
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from dagster import (
    DagsterEventType,
    DagsterInstance,
    ExecuteInProcessResult,
    build_run_status_sensor_context,
)

from sales_pipeline.definitions import build_definitions
from sales_pipeline.defs.alerts import FAILURE_WEBHOOK_ENV, one_line, run_failure_alert
from sales_pipeline.defs.resources import HubSpotResource
from sales_pipeline.store.run_failures import RunFailureLog
from sales_pipeline_tests.automation.conftest import Automation

BAD_TOKEN = "pat-na1-not-the-sandbox-token-1234567890"


class Webhook:
    """A local HTTP endpoint that records what is posted to it and answers ``status``."""

    def __init__(self, status: int = 200) -> None:
        self.received: list[dict[str, Any]] = []
        self.status = status
        webhook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                webhook.received.append(json.loads(body))
                self.send_response(webhook.status)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet."""

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/T000/secret-path"

    def __enter__(self) -> "Webhook":
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    with Webhook() as hook:
        yield hook


def _failed_run(automation: Automation) -> ExecuteInProcessResult:
    """``lead_pipeline`` for one day with a HubSpot token the sandbox refuses."""
    hubspot = automation.resources.hubspot
    refused = HubSpotResource(
        base_url=hubspot.base_url,
        access_token=BAD_TOKEN,
        store=automation.resources.store,
        rate_limit_url=hubspot.rate_limit_url,
    )
    resources = replace(automation.resources, hubspot=refused)
    job = build_definitions(resources).resolve_job_def("lead_pipeline")
    result = job.execute_in_process(
        partition_key=automation.world.partitions[0],
        instance=automation.instance,
        raise_on_error=False,
    )
    assert not result.success
    return result


def _alert(automation: Automation, result: ExecuteInProcessResult) -> None:
    context = build_run_status_sensor_context(
        sensor_name=run_failure_alert.name,
        dagster_event=result.get_run_failure_event(),
        dagster_instance=automation.instance,
        dagster_run=result.dagster_run,
        resources={"store": automation.resources.store},
    ).for_run_failure()
    with context:
        run_failure_alert(context)


def _record(automation: Automation, run_id: str) -> dict[str, Any]:
    with automation.world.store() as store:
        saved = RunFailureLog(store).get(run_id)
    assert saved is not None
    return saved


def test_a_failed_run_is_recorded_and_posted_without_secrets(
    automation: Automation, webhook: Webhook, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(FAILURE_WEBHOOK_ENV, webhook.url)
    result = _failed_run(automation)
    _alert(automation, result)

    [payload] = webhook.received
    assert payload == {
        "event": "run_failure",
        "job": "lead_pipeline",
        "run_id": result.run_id,
        "partition": automation.world.partitions[0],
        "step": "hubspot_contacts",
        "error_class": "AuthError",
        "message": payload["message"],
    }
    assert payload["message"].startswith("hubspot.search_contacts: not authorized")
    assert "\n" not in payload["message"]
    text = json.dumps(payload)
    assert BAD_TOKEN not in text
    assert "@" not in text
    assert _record(automation, result.run_id) == {**payload, "webhook": "delivered"}


def test_without_a_webhook_the_failure_is_still_recorded(
    automation: Automation, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(FAILURE_WEBHOOK_ENV, raising=False)
    result = _failed_run(automation)
    _alert(automation, result)
    record = _record(automation, result.run_id)
    assert (record["error_class"], record["webhook"]) == ("AuthError", "not configured")


def test_a_webhook_that_fails_does_not_lose_the_record(
    automation: Automation, monkeypatch: pytest.MonkeyPatch
) -> None:
    with Webhook(status=500) as broken:
        monkeypatch.setenv(FAILURE_WEBHOOK_ENV, broken.url)
        result = _failed_run(automation)
        _alert(automation, result)
        assert len(broken.received) == 1
    record = _record(automation, result.run_id)
    assert record["webhook"] == "failed: HTTPError 500"
    assert "secret-path" not in json.dumps(record)


def test_a_run_that_died_outside_any_step_is_recorded_as_such(automation: Automation) -> None:
    instance: DagsterInstance = automation.instance
    job = automation.defs.resolve_job_def("lead_pipeline")
    backfill_range = {
        "dagster/asset_partition_range_start": "2026-11-01",
        "dagster/asset_partition_range_end": "2026-11-03",
    }
    run = instance.create_run_for_job(job, tags=backfill_range)
    instance.report_run_failed(run)
    [entry] = instance.all_logs(run.run_id, of_type=DagsterEventType.RUN_FAILURE)
    failed = instance.get_run_by_id(run.run_id)
    assert entry.dagster_event is not None
    assert failed is not None
    context = build_run_status_sensor_context(
        sensor_name=run_failure_alert.name,
        dagster_event=entry.dagster_event,
        dagster_instance=instance,
        dagster_run=failed,
        resources={"store": automation.resources.store},
    ).for_run_failure()
    with context:
        run_failure_alert(context)
    record = _record(automation, run.run_id)
    assert (record["partition"], record["step"]) == ("2026-11-01...2026-11-03", None)
    assert record["error_class"] == "RunFailure"
    assert (
        record["message"]
        == "This run has been marked as failed from outside the execution context."
    )


def test_one_line_keeps_the_first_line_and_masks_what_must_not_leak() -> None:
    message = "\n  Lemlist refused jane.doe@example.com with Bearer abcdefghijklmnop\nTraceback..."
    assert one_line(message) == "Lemlist refused <email> with Bearer ***"
    assert len(one_line("x" * 1000)) == 300
