"""OpenTelemetry spans for vendor calls and pipeline steps; off unless ``OTEL_*`` asks.

Every client call is a span ``"<vendor> <operation>"`` and each HTTP attempt
in it a child span ``"<vendor> <METHOD> <path template>"`` (kind CLIENT), with
these attributes and no others:

=============================  ==============================================
``vendor``                     ``hubspot``, ``explorium``, ``lemlist``
``operation``                  the client operation, e.g. ``search_contacts``
``http.request.method``        the method
``url.template``               the path template (never the filled path or a query)
``http.response.status_code``  the status, when an answer came back
``attempt``                    1, 2, ... within the call
``retry_wait_s``               the wait before this attempt (0 for the first)
``correlation_id``             the vendor's request id, when it sent one
``dagster.run_id``             the run bound by `run_context`, when any
``error.type``                 the failure kind or error class, on failure
=============================  ==============================================

No value from a request or answer body, header or URL is ever an attribute,
so no personal data or secret can reach a trace.

Tracing is configured only by the standard OpenTelemetry environment variables
(`configure_tracing_from_env`, run when a client is built): nothing is set up
unless ``OTEL_TRACES_EXPORTER`` names an exporter (``otlp`` sends OTLP over
HTTP/protobuf to ``OTEL_EXPORTER_OTLP_ENDPOINT`` or
``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``, with ``OTEL_EXPORTER_OTLP_HEADERS``;
``console`` prints spans). ``OTEL_SERVICE_NAME``, ``OTEL_RESOURCE_ATTRIBUTES``,
``OTEL_TRACES_SAMPLER`` and ``OTEL_BSP_*`` are read by the SDK as usual, and
``OTEL_SDK_DISABLED=true`` turns it all off. Without an exporter, or when the
host application installed its own tracer provider, the spans go to whatever
provider is in force (OpenTelemetry's no-op one by default).

`step_span` opens a span for one pipeline step (a Dagster op or asset) and
binds the run id, so the vendor spans of the step nest under it.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SpanExporter,
)
from opentelemetry.trace import Span, SpanKind, Tracer

from sales_pipeline.clients.observability import current_run_id, run_context

TRACER_NAME = "sales_pipeline.clients"
_configure_lock = threading.Lock()
_configured: list[TracerProvider] = []


def configure_tracing_from_env(environ: Mapping[str, str] | None = None) -> bool:
    """Install a tracer provider exporting as ``OTEL_TRACES_EXPORTER`` says, once.

    Returns:
        True when this process exports spans through a provider set up here.

    Raises:
        ValueError: ``OTEL_TRACES_EXPORTER`` names an exporter other than
            ``otlp``, ``console`` or ``none``.
    """
    env = os.environ if environ is None else environ
    names = [
        name.strip().lower()
        for name in env.get("OTEL_TRACES_EXPORTER", "").split(",")
        if name.strip() and name.strip().lower() != "none"
    ]
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true" or not names:
        return False
    with _configure_lock:
        if _configured:
            return True
        if not isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider):
            return False
        provider = TracerProvider(resource=Resource.create())
        for name in names:
            provider.add_span_processor(BatchSpanProcessor(_exporter(name)))
        trace.set_tracer_provider(provider)
        _configured.append(provider)
        return True


def _exporter(name: str) -> SpanExporter:
    if name == "otlp":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        return OTLPSpanExporter()
    if name == "console":
        return ConsoleSpanExporter()
    raise ValueError(f"OTEL_TRACES_EXPORTER={name!r}: this project ships otlp and console")


def tracer() -> Tracer:
    """The clients' tracer, from whatever provider is in force."""
    return trace.get_tracer(TRACER_NAME)


def _untraced() -> bool:
    """No tracer provider is installed, so every span would be OpenTelemetry's no-op one:
    the vendor spans are skipped (two spans and two context changes fewer per call)."""
    return isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider)


@contextmanager
def step_span(step: str, run_id: str | None = None) -> Iterator[Span]:
    """A span ``"step <step>"`` around one pipeline step; vendor spans inside nest under it.

    Args:
        step: The op or asset name (no personal data).
        run_id: The Dagster run id; also bound with `run_context` for the block,
            so request logs and vendor spans carry it. Default: the run already bound.
    """
    configure_tracing_from_env()
    bound = run_id or current_run_id()
    with tracer().start_as_current_span(f"step {step}") as span:
        span.set_attribute("dagster.step", step)
        if bound:
            span.set_attribute("dagster.run_id", bound)
        if run_id:
            with run_context(run_id):
                yield span
        else:
            yield span


@contextmanager
def call_span(vendor: str, operation: str) -> Iterator[Span]:
    """The span of one client call (retries included)."""
    if _untraced():
        yield trace.INVALID_SPAN
        return
    attributes: dict[str, str] = {"vendor": vendor, "operation": operation}
    run_id = current_run_id()
    if run_id:
        attributes["dagster.run_id"] = run_id
    with tracer().start_as_current_span(f"{vendor} {operation}", attributes=attributes) as span:
        yield span


@contextmanager
def attempt_span(
    vendor: str, operation: str, method: str, path: str, attempt: int, retry_wait_s: float
) -> Iterator[Span]:
    """The span of one HTTP attempt; the caller adds status, correlation id and errors."""
    if _untraced():
        yield trace.INVALID_SPAN
        return
    attributes: dict[str, str | int | float] = {
        "vendor": vendor,
        "operation": operation,
        "http.request.method": method,
        "url.template": path,
        "attempt": attempt,
        "retry_wait_s": retry_wait_s,
    }
    run_id = current_run_id()
    if run_id:
        attributes["dagster.run_id"] = run_id
    with tracer().start_as_current_span(
        f"{vendor} {method} {path}", kind=SpanKind.CLIENT, attributes=attributes
    ) as span:
        yield span
