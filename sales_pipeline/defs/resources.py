"""Dagster resources: configuration and secrets in, resilient clients and the store out.

Secrets arrive as ``EnvVar``s, so Dagster's UI shows the variable's name, never its value, and
each run resolves them afresh (a rotated key is picked up by the next run). Inside the process
they are wrapped in :class:`~sales_pipeline.clients.Secret` at once and only revealed when a
request is sent. The base URL of each vendor is configuration, which is how the sandbox is
selected. All clients of a vendor share one rate limiter backend (``Settings.limiter_url``),
so parallel steps, runs and backfills stay under one account's limits together.
"""

from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, fields
from datetime import timedelta
from typing import Any, ClassVar, TypeVar

from dagster import ConfigurableResource, EnvVar, InitResourceContext
from pydantic import Field, PrivateAttr, SecretStr

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
    VendorClient,
    install_redaction,
    run_context,
    shared_limiter,
)
from sales_pipeline.clients.explorium import DEFAULT_BASE_URL as EXPLORIUM_DEFAULT_URL
from sales_pipeline.clients.hubspot import DEFAULT_BASE_URL as HUBSPOT_DEFAULT_URL
from sales_pipeline.clients.lemlist import DEFAULT_BASE_URL as LEMLIST_DEFAULT_URL
from sales_pipeline.domain.retry import RetrySchedule
from sales_pipeline.settings import Settings, load_settings
from sales_pipeline.store.backlog import WorkBacklog
from sales_pipeline.store.ledger import DEFAULT_PUSH_LEASE, PushLedger
from sales_pipeline.store.pipeline_store import PipelineStore
from sales_pipeline.store.tokens import StoreTokenStore


class MissingSettingError(ValueError):
    """A setting the step needs is not configured; the message names the variable to set."""


def required(value: str | None, variable: str) -> str:
    """``value``, or :class:`MissingSettingError` naming ``variable`` when it is unset."""
    if not value:
        raise MissingSettingError(f"{variable} is not set")
    return value


class PipelineStoreResource(ConfigurableResource):  # type: ignore[type-arg]
    """The pipeline's own durable state: push ledger, outstanding work, enrichment cache,
    quarantine, suppressions, OAuth tokens, cursors and asset frames (SQLite locally,
    PostgreSQL in production)."""

    database_url: str = Field(description="SQLAlchemy URL: sqlite:///path or postgresql://...")
    enrichment_ttl_days: float = Field(
        default=30.0, description="How long an Explorium answer is reused before re-enriching."
    )
    push_lease_s: float = Field(
        default=DEFAULT_PUSH_LEASE.total_seconds(),
        gt=0,
        description="How long a push claim stays reserved without renewal; a claim of a run "
        "that died is free once its lease lapses.",
    )
    retry_first_delay_s: float = Field(
        default=RetrySchedule.first_delay.total_seconds(),
        ge=0,
        description="Wait before outstanding work is first retried; doubles per attempt.",
    )
    retry_max_delay_s: float = Field(
        default=RetrySchedule.max_delay.total_seconds(),
        ge=0,
        description="Longest wait between two attempts of outstanding work.",
    )
    retry_max_attempts: int = Field(
        default=RetrySchedule.max_attempts, ge=1, description="Attempts before work is given up."
    )
    retry_max_age_days: float = Field(
        default=RetrySchedule.max_age.days, gt=0, description="Age at which work is given up."
    )
    _store: PipelineStore | None = PrivateAttr(default=None)

    def retry_schedule(self) -> RetrySchedule:
        """When outstanding work is retried and given up."""
        return RetrySchedule(
            first_delay=timedelta(seconds=self.retry_first_delay_s),
            max_delay=timedelta(seconds=max(self.retry_max_delay_s, self.retry_first_delay_s)),
            max_attempts=self.retry_max_attempts,
            max_age=timedelta(days=self.retry_max_age_days),
        )

    def get_ledger(self) -> PushLedger:
        """The push ledger, with this resource's lease and retry schedule."""
        return PushLedger(
            self.get_store(),
            lease=timedelta(seconds=self.push_lease_s),
            schedule=self.retry_schedule(),
        )

    def get_backlog(self) -> WorkBacklog:
        """The outstanding enrichment and writeback work, with this resource's schedule."""
        return WorkBacklog(self.get_store(), self.retry_schedule())

    def get_store(self) -> PipelineStore:
        """The store, connected and migrated on first use."""
        if self._store is None:
            self._store = PipelineStore(
                self.database_url, enrichment_ttl=timedelta(days=self.enrichment_ttl_days)
            )
        return self._store

    def close(self) -> None:
        """Close the store's pooled connections, if it was opened."""
        if self._store is not None:
            self._store.close()

    def teardown_after_execution(self, context: InitResourceContext) -> None:
        """Close pooled connections."""
        self.close()


Client = TypeVar("Client", bound=VendorClient)


def _cancelled_on_interrupt(client: Client) -> Iterator[Client]:
    """Yield ``client``; when the step ends by an exception (a run terminated from the UI
    raises Dagster's interrupt in the step), cancel the client first, so requests and waits
    still open in other threads stop at once instead of running out their timeouts."""
    try:
        yield client
    except BaseException:
        client.cancel()
        raise


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
    concurrency: int = Field(
        default=8,
        ge=1,
        description="Calls one step keeps in flight at once (SALES_PIPELINE_VENDOR_CONCURRENCY); "
        "the shared limiter still paces them.",
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
                concurrency=self.concurrency,
            ),
            "limiter": shared_limiter(self.rate_limit_url or load_settings().limiter_url),
        }


class HubSpotResource(_VendorResource):
    """HubSpot CRM: a private-app token, or OAuth with the tokens kept in the store."""

    base_url: str = HUBSPOT_DEFAULT_URL
    access_token: str | None = Field(default=None, description="Private-app token.")
    client_id: str | None = Field(default=None, description="OAuth app client id.")
    client_secret: str | None = Field(default=None, description="OAuth app client secret.")
    refresh_token: str | None = Field(
        default=None, description="OAuth refresh token to start from when the store has none."
    )
    redirect_uri: str = Field(default="http://localhost:3000/oauth/callback")
    authorize_url: str = Field(default="https://app.hubspot.com/oauth/authorize")
    burst_limit: int = Field(default=100, description="Requests per 10 s for the app's tier.")
    oauth_version: str = Field(
        default="v3",
        description="OAuth token endpoint version: v3 (default) or v1 (deprecated by HubSpot "
        "on 2027-02-16).",
    )
    store: PipelineStoreResource

    @contextmanager
    def get_client(self) -> Iterator[HubSpotClient]:
        """A client for one step; closed afterwards."""
        oauth = None
        if not self.access_token:
            if not self.client_id:
                raise MissingSettingError(
                    "HUBSPOT_ACCESS_TOKEN is not set (for OAuth instead, set HUBSPOT_CLIENT_ID, "
                    "HUBSPOT_CLIENT_SECRET and HUBSPOT_REFRESH_TOKEN)"
                )
            client_secret = required(self.client_secret, "HUBSPOT_CLIENT_SECRET")
            oauth = HubSpotOAuthConfig(
                client_id=self.client_id,
                client_secret=Secret(client_secret),
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
                    oauth_version=self.oauth_version,
                ),
                **self._client_options(),
            ) as client,
        ):
            yield from _cancelled_on_interrupt(client)


class ExploriumResource(_VendorResource):
    """Explorium: prospect and business matching and bulk enrichment."""

    base_url: str = EXPLORIUM_DEFAULT_URL
    api_key: str | None = Field(
        default=None, description="Explorium API key (sent as the api_key header)."
    )
    key_variable: ClassVar[str] = "EXPLORIUM_API_KEY"

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
                api_key=Secret(required(self.api_key, self.key_variable)),
                settings=settings,
                **self._client_options(),
            ) as client,
        ):
            yield from _cancelled_on_interrupt(client)


class LemlistResource(_VendorResource):
    """Lemlist: campaigns, leads, unsubscribes and activities."""

    base_url: str = LEMLIST_DEFAULT_URL
    api_key: str | None = Field(
        default=None, description="Lemlist API key (Basic auth password, empty user)."
    )
    key_variable: ClassVar[str] = "LEMLIST_API_KEY"

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
                api_key=Secret(required(self.api_key, self.key_variable)),
                settings=settings,
                **self._client_options(),
            ) as client,
        ):
            yield from _cancelled_on_interrupt(client)


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


def resources_from_settings(
    settings: Settings | None = None,
    *,
    resolve_secrets: bool = False,
    overrides: Mapping[str, Any] | None = None,
) -> PipelineResources:
    """The pipeline's resources as ``settings`` (the process's by default) configure them.

    HubSpot uses ``HUBSPOT_ACCESS_TOKEN`` when it is set, else OAuth from ``HUBSPOT_CLIENT_ID``,
    ``HUBSPOT_CLIENT_SECRET`` and ``HUBSPOT_REFRESH_TOKEN``. In the definitions secrets are
    ``EnvVar`` names, resolved per run, so the UI shows the variable and never its value;
    ``resolve_secrets`` passes the values instead, for use outside Dagster (``doctor``), where a
    missing one stays unset. ``overrides`` replace fields of every vendor resource (the doctor
    probes with short timeouts and a private limiter).
    """
    settings = settings or load_settings()

    def secret(name: str, value: SecretStr | None) -> str | EnvVar | None:
        if not resolve_secrets:
            return EnvVar(name)
        return value.get_secret_value() if value is not None else None

    store = PipelineStoreResource(
        database_url=settings.store_url,
        push_lease_s=settings.push_lease_seconds,
        retry_first_delay_s=settings.retry_first_delay_seconds,
        retry_max_attempts=settings.retry_max_attempts,
        retry_max_age_days=settings.retry_max_age_days,
    )
    if settings.hubspot_auth == "token":
        credentials: dict[str, Any] = {
            "access_token": secret("HUBSPOT_ACCESS_TOKEN", settings.hubspot_access_token)
        }
    else:
        credentials = {
            "client_id": settings.hubspot_client_id,
            "client_secret": secret("HUBSPOT_CLIENT_SECRET", settings.hubspot_client_secret),
            "refresh_token": secret("HUBSPOT_REFRESH_TOKEN", settings.hubspot_refresh_token),
        }
    shared: dict[str, Any] = {
        "rate_scale": settings.rate_scale,
        "rate_limit_url": settings.limiter_url,
        "concurrency": settings.vendor_concurrency,
        **(overrides or {}),
    }
    return PipelineResources(
        store=store,
        hubspot=HubSpotResource(
            base_url=settings.hubspot_base_url,
            store=store,
            oauth_version=settings.hubspot_oauth_version,
            **shared,
            **credentials,
        ),
        explorium=ExploriumResource(
            base_url=settings.explorium_base_url,
            api_key=secret("EXPLORIUM_API_KEY", settings.explorium_api_key),
            **shared,
        ),
        lemlist=LemlistResource(
            base_url=settings.lemlist_base_url,
            api_key=secret("LEMLIST_API_KEY", settings.lemlist_api_key),
            **shared,
        ),
    )
