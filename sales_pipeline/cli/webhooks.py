"""``sales-pipeline webhooks``: serve the webhook receiver, or register the Lemlist hook.

``sales-pipeline webhooks [--host 127.0.0.1] [--port 8787]`` serves ``POST /webhooks/lemlist``,
``POST /webhooks/hubspot`` and ``GET /healthz`` (see :mod:`sales_pipeline.webhooks`) until
SIGINT or SIGTERM. ``sales-pipeline webhooks register --url URL`` creates the Lemlist hook that
sends every event to ``URL`` with ``LEMLIST_WEBHOOK_SECRET`` in its payload, or reuses the hook
already sending there. HubSpot's subscriptions are set in the app's settings (see the README).

The settings, the receiver, the store and the Lemlist client are imported when a command runs,
so that the other commands of the CLI start without loading them.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sales_pipeline.settings import Settings

MIN_SECRET_LENGTH = 16
"""Shortest Lemlist webhook secret the receiver accepts to check deliveries against."""

LEMLIST_PATH = "/webhooks/lemlist"


def add_webhooks_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``webhooks [--host] [--port]`` and ``webhooks register --url``."""
    parser = subparsers.add_parser(
        "webhooks",
        help="serve the webhook receiver (Lemlist and HubSpot events into the store's inbox)",
        description="Serve POST /webhooks/lemlist, POST /webhooks/hubspot and GET /healthz.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8787)
    actions = parser.add_subparsers(dest="webhooks_action")
    register = actions.add_parser(
        "register",
        help="create the Lemlist hook with LEMLIST_WEBHOOK_SECRET (reused if it exists)",
        description="Create (or reuse) the Lemlist webhook that sends every event to URL.",
    )
    register.add_argument(
        "--url",
        help="the public URL of POST /webhooks/lemlist "
        "(default: SALES_PIPELINE_WEBHOOK_PUBLIC_URL + /webhooks/lemlist)",
    )


def run_webhooks(args: argparse.Namespace) -> int:
    """Serve the receiver, or register the Lemlist hook; the exit code."""
    from sales_pipeline.settings import load_settings

    settings = load_settings()
    if args.webhooks_action == "register":
        return register_lemlist_hook(settings, args.url)
    return serve_receiver(settings, args.host, args.port)


def _secret_problem(settings: Settings) -> str | None:
    """Why the configured secrets cannot be used, if they cannot."""
    lemlist = settings.lemlist_webhook_secret
    if lemlist is None and settings.hubspot_client_secret is None:
        return "set LEMLIST_WEBHOOK_SECRET and/or HUBSPOT_CLIENT_SECRET"
    if lemlist is not None and len(lemlist.get_secret_value()) < MIN_SECRET_LENGTH:
        return f"LEMLIST_WEBHOOK_SECRET must have at least {MIN_SECRET_LENGTH} characters"
    return None


def serve_receiver(
    settings: Settings, host: str, port: int, out: Callable[[str], None] = print
) -> int:
    """Serve the receiver on ``host:port`` with the store of ``settings``; 2 when no usable
    secret is configured."""
    from sales_pipeline.store.pipeline_store import PipelineStore
    from sales_pipeline.webhooks import ReceiverConfig, serve

    problem = _secret_problem(settings)
    if problem is not None:
        out(f"cannot serve webhooks: {problem}")
        return 2
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    with PipelineStore(settings.store_url) as store:
        out(f"webhook receiver on http://{host}:{port} (store {store!r})")
        serve(ReceiverConfig.from_settings(settings), store, host, port)
    return 0


def register_lemlist_hook(
    settings: Settings, url: str | None, out: Callable[[str], None] = print
) -> int:
    """Make sure one Lemlist hook sends every event to ``url`` with the webhook secret.

    A hook already sending to ``url`` is reused (Lemlist never shows a hook's secret: to
    change the secret, delete that hook in Lemlist and register again). Returns 0 when the
    hook exists, 2 when a setting is missing.
    """
    from sales_pipeline.clients import LemlistClient, Secret

    target = url or (
        f"{settings.webhook_public_url.rstrip('/')}{LEMLIST_PATH}"
        if settings.webhook_public_url
        else None
    )
    api_key, secret = settings.lemlist_api_key, settings.lemlist_webhook_secret
    if target is None or api_key is None or secret is None:
        missing = [
            name
            for name, value in (
                ("--url or SALES_PIPELINE_WEBHOOK_PUBLIC_URL", target),
                ("LEMLIST_API_KEY", api_key),
                ("LEMLIST_WEBHOOK_SECRET", secret),
            )
            if value is None
        ]
        out(f"cannot register the Lemlist hook: set {', '.join(missing)}")
        return 2
    problem = _secret_problem(settings)
    if problem is not None:
        out(f"cannot register the Lemlist hook: {problem}")
        return 2
    with LemlistClient(
        settings.lemlist_base_url, api_key=Secret(api_key.get_secret_value())
    ) as client:
        existing = [hook for hook in client.list_hooks() if hook.target_url == target]
        if existing:
            out(f"Lemlist hook {existing[0].id} already sends to {target}")
            return 0
        created = client.create_hook(target, Secret(secret.get_secret_value()))
    shown = created.id if created else "(id not returned)"
    out(f"created Lemlist hook {shown} sending to {target}")
    return 0
