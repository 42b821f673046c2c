"""Dagster resources: configuration and secrets in, resilient clients and the store out.

Secrets arrive as ``EnvVar``s, so Dagster's UI shows the variable's name, never its value, and
each run resolves them afresh (a rotated key is picked up by the next run). Inside the process
they are wrapped in :class:`~sales_pipeline.clients.Secret` at once and only revealed when a
request is sent. The base URL of each vendor is configuration, which is how the sandbox is
selected. All clients of a vendor share one rate limiter backend (see
:mod:`sales_pipeline.settings`), so parallel steps, runs and backfills stay under one account's
limits together.
"""

import os
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, fields
from datetime import timedelta
from typing import Any

from dagster import ConfigurableResource, EnvVar, InitResourceContext
from pydantic import Field, PrivateAttr

from sales_pipeline.clients import (
    ExploriumClient,
    ExploriumSettings,
    HubSpotClient,
    HubSpotOAuthConfig,
    HubSpotSettings,
    LemlistClient,
    LemlistSettings,
    RetryPolicy,
    Secret,
    Timeouts,
    TransportConfig,
    install_redaction,
    run_context,
    shared_limiter,
)
from sales_pipeline.settings import default_database_url, default_rate_limit_url
from sales_pipeline.store import PipelineStore, StoreTokenStore


class PipelineStoreResource(ConfigurableResource):  # type: ignore[type-arg]
    """The pipeline's own durable state: push ledger, enrichment cache, quarantine,
    suppressions, OAuth tokens, cursors and asset frames (SQLite locally, PostgreSQL in
    production)."""

    database_url: str = Field(description="SQLAlchemy URL: sqlite:///path or postgresql://...")
    enrichment_ttl_days: float = Field(
        default=30.0, description="How long an Explorium answer is reused before re-enriching."
    )
    _store: PipelineStore | None = PrivateAttr(default=None)

    def get_store(self) -> PipelineStore:
        """The store, connected and migrated on first use."""
        if self._store is None:
            self._store = PipelineStore(
                self.database_url, enrichment_ttl=timedelta(days=self.enrichment_ttl_days)
            )
        return self._store

    def teardown_after_execution(self, context: InitResourceContext) -> None:
        """Close pooled connections."""
        if self._store is not None:
            self._store.close()


class _VendorResource(ConfigurableResource):  # type: ignore[type-arg]
    """Resilience settings every vendor resource shares."""

    base_url: str
    connect_timeout_s: float = Field(default=5.0, description="Seconds to open a connection.")
    read_timeout_s: float = Field(default=30.0, description="Seconds to wait for bytes.")
    total_timeout_s: float = Field(default=60.0, description="Seconds for a whole attempt.")
    max_tries: int = Field(default=5, description="Attempts for 5xx, timeouts and drops.")
    max_rate_limited_tries: int = Field(default=10, description="Attempts after 429s.")
    max_elapsed_s: float = Field(default=300.0, description="Time budget of one call.")
    backoff_initial_s: float = Field(default=0.5, description="First backoff before jitter.")
    breaker_failure_threshold: int = Field(default=5, description="Failures that open it.")
    breaker_reset_timeout_s: float = Field(default=30.0, description="Open time before a probe.")
    rate_scale: float = Field(
        default=1.0,
        gt=0,
        description="Multiplies the vendor's published limits. Leave at 1 for real vendors; "
        "benchmarks set it with the sandbox's --rate-scale to compress time.",
    )
    rate_limit_url: str = Field(
        default="",
        description="Limiter backend shared by processes (memory://, sqlite:///, postgresql://, "
        "redis://); empty: SALES_PIPELINE_RATE_LIMIT_URL or the default.",
    )

    _run_id: str | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: InitResourceContext) -> None:
        """Remember the run, so every request the clients log carries its id."""
        self._run_id = context.run_id

    def _run_tag(self) -> AbstractContextManager[None]:
        """Tags the client's request logs with the Dagster run id while open."""
        return run_context(self._run_id) if self._run_id else nullcontext()

    def _scaled(self, limit: int) -> int:
        """A published limit times :attr:`rate_scale` (at least 1)."""
        return max(1, round(limit * self.rate_scale))

    def _client_options(self) -> dict[str, Any]:
        """The transport settings and the shared limiter, as client keyword arguments."""
        install_redaction()
        return {
            "transport_config": TransportConfig(
                timeouts=Timeouts(
                    self.connect_timeout_s, self.read_timeout_s, self.total_timeout_s
                ),
                retry=RetryPolicy(
                    max_tries=self.max_tries,
                    max_rate_limited_tries=self.max_rate_limited_tries,
                    max_elapsed_s=self.max_elapsed_s,
                    backoff_initial_s=self.backoff_initial_s,
                ),
                breaker_failure_threshold=self.breaker_failure_threshold,
                breaker_reset_timeout_s=self.breaker_reset_timeout_s,
            ),
            "limiter": shared_limiter(self.rate_limit_url or default_rate_limit_url()),
        }


class HubSpotResource(_VendorResource):
    """HubSpot CRM: a private-app token, or OAuth with the tokens kept in the store."""

    base_url: str = "https://api.hubapi.com"
    access_token: str | None = Field(default=None, description="Private-app token.")
    client_id: str | None = Field(default=None, description="OAuth app client id.")
    client_secret: str | None = Field(default=None, description="OAuth app client secret.")
    refresh_token: str | None = Field(
        default=None, description="OAuth refresh token to start from when the store has none."
    )
    redirect_uri: str = Field(default="http://localhost:3000/oauth/callback")
    authorize_url: str = Field(default="https://app.hubspot.com/oauth/authorize")
    burst_limit: int = Field(default=100, description="Requests per 10 s for the app's tier.")
    store: PipelineStoreResource

    @contextmanager
    def get_client(self) -> Iterator[HubSpotClient]:
        """A client for one step; closed afterwards."""
        oauth = None
        if not self.access_token:
            if not (self.client_id and self.client_secret):
                raise ValueError(
                    "HubSpot needs HUBSPOT_ACCESS_TOKEN, or HUBSPOT_CLIENT_ID, "
                    "HUBSPOT_CLIENT_SECRET and HUBSPOT_REFRESH_TOKEN"
                )
            oauth = HubSpotOAuthConfig(
                client_id=self.client_id,
                client_secret=Secret(self.client_secret),
                redirect_uri=self.redirect_uri,
                token_store=StoreTokenStore(self.store.get_store()),
                authorize_url=self.authorize_url,
                bootstrap_refresh_token=Secret(self.refresh_token) if self.refresh_token else None,
            )
        with (
            self._run_tag(),
            HubSpotClient(
                self.base_url,
                access_token=Secret(self.access_token) if self.access_token else None,
                oauth=oauth,
                settings=HubSpotSettings(
                    burst_limit=self._scaled(self.burst_limit),
                    search_limit=self._scaled(HubSpotSettings.search_limit),
                ),
                **self._client_options(),
            ) as client,
        ):
            yield client


class ExploriumResource(_VendorResource):
    """Explorium: prospect and business matching and bulk enrichment."""

    base_url: str = "https://api.explorium.ai/v1"
    api_key: str = Field(description="Explorium API key (sent as the api_key header).")

    @contextmanager
    def get_client(self) -> Iterator[ExploriumClient]:
        """A client for one step; closed afterwards."""
        settings = ExploriumSettings(
            requests_per_window=self._scaled(ExploriumSettings.requests_per_window)
        )
        with (
            self._run_tag(),
            ExploriumClient(
                self.base_url,
                api_key=Secret(self.api_key),
                settings=settings,
                **self._client_options(),
            ) as client,
        ):
            yield client


class LemlistResource(_VendorResource):
    """Lemlist: campaigns, leads, unsubscribes and activities."""

    base_url: str = "https://api.lemlist.com/api"
    api_key: str = Field(description="Lemlist API key (Basic auth password, empty user).")

    @contextmanager
    def get_client(self) -> Iterator[LemlistClient]:
        """A client for one step; closed afterwards."""
        settings = LemlistSettings(
            requests_per_window=self._scaled(LemlistSettings.requests_per_window)
        )
        with (
            self._run_tag(),
            LemlistClient(
                self.base_url,
                api_key=Secret(self.api_key),
                settings=settings,
                **self._client_options(),
            ) as client,
        ):
            yield client


def _env_or_default(name: str, default: str) -> str | EnvVar:
    """``EnvVar(name)`` when the variable is set (resolved per run), else ``default``."""
    return EnvVar(name) if os.environ.get(name) else default


@dataclass(frozen=True)
class PipelineResources:
    """The pipeline's resources, keyed in Dagster by field name."""

    store: PipelineStoreResource
    hubspot: HubSpotResource
    explorium: ExploriumResource
    lemlist: LemlistResource

    def as_dict(self) -> dict[str, ConfigurableResource]:  # type: ignore[type-arg]
        """Resource key -> resource."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


def resources_from_env() -> PipelineResources:
    """The resources of the deployed definitions, configured from the environment.

    HubSpot uses ``HUBSPOT_ACCESS_TOKEN`` when it is set, else OAuth from ``HUBSPOT_CLIENT_ID``,
    ``HUBSPOT_CLIENT_SECRET`` and ``HUBSPOT_REFRESH_TOKEN``. Base URLs default to the vendors'.
    ``SALES_PIPELINE_RATE_SCALE`` scales every published limit (sandbox benchmarks only).
    """
    store = PipelineStoreResource(
        database_url=_env_or_default("SALES_PIPELINE_DATABASE_URL", default_database_url())
    )
    rate_scale = float(os.environ.get("SALES_PIPELINE_RATE_SCALE") or 1.0)
    if os.environ.get("HUBSPOT_ACCESS_TOKEN") or not os.environ.get("HUBSPOT_CLIENT_ID"):
        credentials: dict[str, Any] = {"access_token": EnvVar("HUBSPOT_ACCESS_TOKEN")}
    else:
        credentials = {
            "client_id": EnvVar("HUBSPOT_CLIENT_ID"),
            "client_secret": EnvVar("HUBSPOT_CLIENT_SECRET"),
            "refresh_token": EnvVar("HUBSPOT_REFRESH_TOKEN"),
        }
    return PipelineResources(
        store=store,
        hubspot=HubSpotResource(
            base_url=_env_or_default("HUBSPOT_BASE_URL", "https://api.hubapi.com"),
            store=store,
            rate_scale=rate_scale,
            **credentials,
        ),
        explorium=ExploriumResource(
            base_url=_env_or_default("EXPLORIUM_BASE_URL", "https://api.explorium.ai/v1"),
            api_key=EnvVar("EXPLORIUM_API_KEY"),
            rate_scale=rate_scale,
        ),
        lemlist=LemlistResource(
            base_url=_env_or_default("LEMLIST_BASE_URL", "https://api.lemlist.com/api"),
            api_key=EnvVar("LEMLIST_API_KEY"),
            rate_scale=rate_scale,
        ),
    )
