"""OpenTelemetry spans per call and per attempt, nested under a step, with no PII or secrets."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from sales_pipeline.clients import configure_tracing_from_env, run_context, step_span
from sales_pipeline_tests.clients.conftest import LEMLIST_KEY, Scripted


class Recorder(SpanProcessor):
    """Hands finished spans to the exporter of the test running now, and to none between
    tests (OpenTelemetry lets a process set its tracer provider only once)."""

    current: InMemorySpanExporter | None = None

    def on_end(self, span: ReadableSpan) -> None:
        if self.current is not None:
            self.current.export((span,))


RECORDER = Recorder()


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    """Finished spans of this test, from an SDK provider that records in memory."""
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        provider = TracerProvider()
        trace.set_tracer_provider(provider)
        provider.add_span_processor(RECORDER)
    exporter = InMemorySpanExporter()
    RECORDER.current = exporter
    yield exporter
    RECORDER.current = None


def named(exporter: InMemorySpanExporter, prefix: str) -> list[ReadableSpan]:
    return [span for span in exporter.get_finished_spans() if span.name.startswith(prefix)]


def attrs(span: ReadableSpan) -> dict[str, Any]:
    return dict(span.attributes or {})


def parent_id(span: ReadableSpan) -> int | None:
    return span.parent.span_id if span.parent is not None else None


def test_each_attempt_is_a_span_under_its_call_with_status_wait_and_correlation(
    server, lemlist, spans
):
    server.queue(
        Scripted(503, text="busy"),
        Scripted(json={"_id": "lea_1"}, headers={"X-Request-Id": "req-7"}),
    )

    with run_context("run-42"):
        lemlist.add_lead_to_campaign("cam_1", {"email": "ann@acme.com", "firstName": "Ann"})

    (call,) = named(spans, "lemlist add_lead_to_campaign")
    attempts = named(spans, "lemlist POST")
    assert [attrs(span)["attempt"] for span in attempts] == [1, 2]
    assert {parent_id(span) for span in attempts} == {call.context.span_id}
    first, second = (attrs(span) for span in attempts)
    assert first["http.response.status_code"] == 503
    assert first["error.type"] == "ServerError"
    assert first["retry_wait_s"] == 0
    assert second["retry_wait_s"] > 0
    assert second["http.response.status_code"] == 200
    assert second["correlation_id"] == "req-7"
    assert second["url.template"] == "/campaigns/{campaign_id}/leads/"
    assert {attrs(span)["dagster.run_id"] for span in [call, *attempts]} == {"run-42"}
    assert attrs(call)["http.response.status_code"] == 200


def test_no_attribute_carries_personal_data_secrets_or_query_values(server, lemlist, spans):
    server.queue(Scripted(json=[{"campaignId": "cam_1"}]))

    lemlist.get_lead("ann.private@acme.com")

    values = [str(value) for span in spans.get_finished_spans() for value in attrs(span).values()]
    assert values
    assert not [v for v in values if "ann.private" in v or LEMLIST_KEY in v or "v2" in v]


def test_vendor_spans_nest_under_the_step_span(server, lemlist, spans):
    server.queue(Scripted(json=[]))

    with step_span("lemlist_leads", run_id="run-9"):
        lemlist.list_campaigns()

    (step,) = named(spans, "step lemlist_leads")
    (call,) = named(spans, "lemlist list_campaigns")
    assert parent_id(call) == step.context.span_id
    assert attrs(step)["dagster.run_id"] == "run-9"
    assert attrs(call)["dagster.run_id"] == "run-9"


@pytest.mark.parametrize(
    "environ",
    [{}, {"OTEL_TRACES_EXPORTER": "none"}, {"OTEL_SDK_DISABLED": "true"}],
    ids=["unset", "none", "disabled"],
)
def test_tracing_stays_off_without_an_exporter(environ):
    assert configure_tracing_from_env(environ) is False


SCRIPT = """
from sales_pipeline.clients import step_span
from opentelemetry import trace
with step_span("probe", run_id="run-env"):
    pass
trace.get_tracer_provider().shutdown()
"""


def test_the_standard_environment_variables_turn_an_exporter_on():
    env = {
        **os.environ,
        "OTEL_TRACES_EXPORTER": "console",
        "OTEL_SERVICE_NAME": "sales-pipeline-test",
    }
    env.pop("OTEL_SDK_DISABLED", None)

    printed = subprocess.run(
        [sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, check=True
    ).stdout

    span = json.loads(printed)
    assert span["name"] == "step probe"
    assert span["attributes"]["dagster.run_id"] == "run-env"
    assert span["resource"]["attributes"]["service.name"] == "sales-pipeline-test"
