"""The receiver's ASGI application: three routes, every check before the inbox write.

``POST /webhooks/lemlist`` and ``POST /webhooks/hubspot`` go through the same steps, each of
which may refuse the request (:class:`~sales_pipeline.webhooks.checks.RefusedError`):

1. the media type must be JSON (415);
2. a declared ``Content-Length`` over the cap is refused before any byte is read, and the body
   is counted while it streams in, so a body without (or lying about) its length is cut off at
   the cap too (413);
3. the vendor's proof: HubSpot's v3 signature over the raw body and its 5-minute window, or
   the secret inside Lemlist's JSON (401), and the JSON itself (400);
4. the events are committed to the inbox (insert-or-ignore by event id), and only then the
   answer is 200. A store that fails answers 503, which makes the vendor deliver again.

Nothing else happens in the request: no vendor call, no pipeline work. A refused request is
logged with its vendor, status and reason only.

``GET /healthz`` runs one query on the store: 200 when it answers, 503 when it does not.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from sales_pipeline.settings import Settings
from sales_pipeline.store.engine import utc_now
from sales_pipeline.store.inbox import InboxEvent, WebhookInbox, WebhookVendor
from sales_pipeline.store.pipeline_store import PipelineStore
from sales_pipeline.webhooks.checks import (
    RefusedError,
    check_declared_length,
    check_hubspot_signature,
    check_json_content_type,
    hubspot_events,
    lemlist_event,
    parse_json,
)

logger = logging.getLogger("sales_pipeline.webhooks")

DEFAULT_MAX_BODY_BYTES = 1024 * 1024
"""The body cap when none is configured: 1 MiB."""


@dataclass(frozen=True)
class ReceiverConfig:
    """What the receiver checks against. A vendor whose secret is unset answers 503.

    ``public_url`` is the base URL HubSpot calls (scheme, host and any path prefix of the TLS
    proxy); HubSpot signs that URL, not the one the receiver sees behind the proxy. ``clock``
    is the current time, for the signature window.
    """

    lemlist_secret: str | None = field(default=None, repr=False)
    hubspot_client_secret: str | None = field(default=None, repr=False)
    public_url: str | None = None
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    clock: Callable[[], datetime] = utc_now

    @classmethod
    def from_settings(cls, settings: Settings) -> ReceiverConfig:
        """The receiver's configuration from the pipeline's settings."""
        lemlist, hubspot = settings.lemlist_webhook_secret, settings.hubspot_client_secret
        return cls(
            lemlist_secret=lemlist.get_secret_value() if lemlist else None,
            hubspot_client_secret=hubspot.get_secret_value() if hubspot else None,
            public_url=settings.webhook_public_url,
            max_body_bytes=settings.webhook_max_body_bytes,
        )


def _signed_uri(request: Request, public_url: str | None) -> str:
    """The URL HubSpot signed: the public base URL plus the path and query received."""
    if public_url is None:
        return str(request.url)
    query = f"?{request.url.query}" if request.url.query else ""
    return f"{public_url.rstrip('/')}{request.url.path}{query}"


async def _read_body(request: Request, limit: int) -> bytes:
    """The body, refused with 413 as soon as it is known to exceed ``limit`` bytes."""
    check_declared_length(request.headers.get("content-length"), limit)
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise RefusedError(413, "body larger than the limit")
    return bytes(body)


def create_app(config: ReceiverConfig, store: PipelineStore) -> Starlette:
    """The receiver for ``config``, writing accepted events to ``store``'s inbox."""
    inbox = WebhookInbox(store)

    async def receive(request: Request, vendor: WebhookVendor) -> JSONResponse:
        try:
            check_json_content_type(request.headers.get("content-type"))
            body = await _read_body(request, config.max_body_bytes)
            events = _verified_events(request, vendor, body)
        except RefusedError as refusal:
            logger.warning("refused %s webhook: %d %s", vendor, refusal.status, refusal.reason)
            return JSONResponse({"error": refusal.reason}, status_code=refusal.status)
        try:
            stored = await run_in_threadpool(inbox.add, events)
        except Exception as failure:
            logger.error("%s webhook not stored: %s", vendor, type(failure).__name__)
            return JSONResponse({"error": "the inbox is unavailable"}, status_code=503)
        logger.info("accepted %s webhook: %d new of %d events", vendor, stored, len(events))
        return JSONResponse({"events": len(events), "new": stored})

    def _verified_events(request: Request, vendor: WebhookVendor, body: bytes) -> list[InboxEvent]:
        if vendor is WebhookVendor.HUBSPOT:
            if not config.hubspot_client_secret:
                raise RefusedError(503, "no HubSpot client secret configured")
            check_hubspot_signature(
                config.hubspot_client_secret,
                request.method,
                _signed_uri(request, config.public_url),
                body,
                request.headers,
                config.clock(),
            )
            return hubspot_events(parse_json(body))
        if not config.lemlist_secret:
            raise RefusedError(503, "no Lemlist webhook secret configured")
        return [lemlist_event(parse_json(body), config.lemlist_secret)]

    async def lemlist(request: Request) -> JSONResponse:
        return await receive(request, WebhookVendor.LEMLIST)

    async def hubspot(request: Request) -> JSONResponse:
        return await receive(request, WebhookVendor.HUBSPOT)

    async def healthz(request: Request) -> JSONResponse:
        try:
            version = await run_in_threadpool(store.check_health)
        except Exception as failure:
            logger.error("health check failed: %s", type(failure).__name__)
            return JSONResponse({"status": "unavailable"}, status_code=503)
        return JSONResponse({"status": "ok", "schema_version": version})

    return Starlette(
        routes=[
            Route("/webhooks/lemlist", lemlist, methods=["POST"]),
            Route("/webhooks/hubspot", hubspot, methods=["POST"]),
            Route("/healthz", healthz, methods=["GET"]),
        ]
    )
