"""The pipeline's settings: every environment variable it reads, read in one place.

:class:`Settings` is a pydantic-settings model (the library validates types, reports every bad
variable by name at once, and keeps secrets as :class:`~pydantic.SecretStr`, which never prints
its value). :func:`load_settings` reads the process environment once (again only if it
changes); tests and the CLI build one from any mapping with :meth:`Settings.from_env`.
Everything else receives the object: resources, schedule, sensors, checks, partitions and
``doctor``.

Secrets are read here only to tell whether they are set: the Dagster resources take them as
``EnvVar`` names, so the UI shows the variable, never the value, and each run resolves it anew.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from sales_pipeline.clients.explorium import DEFAULT_BASE_URL as EXPLORIUM_DEFAULT_URL
from sales_pipeline.clients.hubspot import DEFAULT_BASE_URL as HUBSPOT_DEFAULT_URL
from sales_pipeline.clients.lemlist import DEFAULT_BASE_URL as LEMLIST_DEFAULT_URL

HOME_ENV = "SALES_PIPELINE_HOME"
DATABASE_URL_ENV = "SALES_PIPELINE_DATABASE_URL"
RATE_LIMIT_URL_ENV = "SALES_PIPELINE_RATE_LIMIT_URL"


def _env(name: str) -> AliasChoices:
    """The environment variable a field is read from."""
    return AliasChoices(name)


class Settings(BaseSettings):
    """Every setting of a deployment, with its environment variable and default."""

    model_config = SettingsConfigDict(frozen=True, extra="ignore", case_sensitive=True)

    home: Path = Field(
        default=Path(".sales_pipeline_home"),
        validation_alias=_env(HOME_ENV),
        description="Local state folder (SQLite store and limiter by default).",
    )
    database_url: str | None = Field(
        default=None,
        validation_alias=_env(DATABASE_URL_ENV),
        description="The store: sqlite:///path or postgresql://...; default a file in home.",
    )
    rate_limit_url: str | None = Field(
        default=None,
        validation_alias=_env(RATE_LIMIT_URL_ENV),
        description="The limiter backend shared by processes; default per store (see below).",
    )
    rate_scale: float = Field(
        default=1.0,
        gt=0,
        validation_alias=_env("SALES_PIPELINE_RATE_SCALE"),
        description="Multiplies every published limit (sandbox benchmarks only).",
    )
    start_date: str = Field(
        default="2026-10-01",
        validation_alias=_env("SALES_PIPELINE_START_DATE"),
        pattern=r"^\d{4}-\d{2}-\d{2}$",
        description="The first daily partition.",
    )
    schedule_hour: int = Field(
        default=6, ge=0, le=23, validation_alias=_env("SALES_PIPELINE_SCHEDULE_HOUR")
    )
    schedule_timezone: str = Field(
        default="UTC", validation_alias=_env("SALES_PIPELINE_SCHEDULE_TIMEZONE")
    )
    hubspot_search_lag_seconds: float = Field(
        default=60.0,
        ge=0,
        validation_alias=_env("SALES_PIPELINE_HUBSPOT_SEARCH_LAG_SECONDS"),
        description="Only changes older than this are requested: HubSpot search lags writes.",
    )
    max_quarantine_rate: float = Field(
        default=0.10, ge=0, le=1, validation_alias=_env("SALES_PIPELINE_MAX_QUARANTINE_RATE")
    )
    max_push_failure_rate: float = Field(
        default=0.10, ge=0, le=1, validation_alias=_env("SALES_PIPELINE_MAX_PUSH_FAILURE_RATE")
    )
    executor: Literal["default", "celery"] = Field(
        default="default",
        validation_alias=_env("SALES_PIPELINE_EXECUTOR"),
        description="Where steps run: Dagster's default (a process per step) or Celery "
        "workers (deploy/celery.yaml). Set it alike on the webserver, daemon and workers.",
    )
    vendor_concurrency: int = Field(
        default=8,
        ge=1,
        le=64,
        validation_alias=_env("SALES_PIPELINE_VENDOR_CONCURRENCY"),
        description="Vendor calls one step keeps in flight at once; the shared rate limiter "
        "still paces them. 1 sends one call at a time.",
    )
    push_lease_seconds: float = Field(
        default=60.0,
        gt=0,
        validation_alias=_env("SALES_PIPELINE_PUSH_LEASE_SECONDS"),
        description="How long a push claim stays reserved without renewal.",
    )
    retry_first_delay_seconds: float = Field(
        default=900.0,
        ge=0,
        validation_alias=_env("SALES_PIPELINE_RETRY_FIRST_DELAY_SECONDS"),
        description="Wait before owed work is first retried; doubles per attempt (max 1 day).",
    )
    retry_max_attempts: int = Field(
        default=8, ge=1, validation_alias=_env("SALES_PIPELINE_RETRY_MAX_ATTEMPTS")
    )
    retry_max_age_days: float = Field(
        default=14.0, gt=0, validation_alias=_env("SALES_PIPELINE_RETRY_MAX_AGE_DAYS")
    )
    max_backlog: int = Field(
        default=1000,
        ge=0,
        validation_alias=_env("SALES_PIPELINE_MAX_BACKLOG"),
        description="Owed work items past which the backlog check warns.",
    )
    max_backlog_age_days: int = Field(
        default=3,
        ge=0,
        validation_alias=_env("SALES_PIPELINE_MAX_BACKLOG_AGE_DAYS"),
        description="Age of the oldest owed item past which the backlog check warns.",
    )
    failure_webhook_url: SecretStr | None = Field(
        default=None, validation_alias=_env("SALES_PIPELINE_FAILURE_WEBHOOK_URL")
    )
    hubspot_base_url: str = Field(
        default=HUBSPOT_DEFAULT_URL, validation_alias=_env("HUBSPOT_BASE_URL")
    )
    explorium_base_url: str = Field(
        default=EXPLORIUM_DEFAULT_URL, validation_alias=_env("EXPLORIUM_BASE_URL")
    )
    lemlist_base_url: str = Field(
        default=LEMLIST_DEFAULT_URL, validation_alias=_env("LEMLIST_BASE_URL")
    )
    hubspot_access_token: SecretStr | None = Field(
        default=None, validation_alias=_env("HUBSPOT_ACCESS_TOKEN")
    )
    hubspot_client_id: str | None = Field(default=None, validation_alias=_env("HUBSPOT_CLIENT_ID"))
    hubspot_oauth_version: Literal["v3", "v1"] = Field(
        default="v3",
        validation_alias=_env("HUBSPOT_OAUTH_VERSION"),
        description="HubSpot's token endpoint; v1 is deprecated on 2027-02-16 (doctor warns).",
    )
    hubspot_client_secret: SecretStr | None = Field(
        default=None, validation_alias=_env("HUBSPOT_CLIENT_SECRET")
    )
    hubspot_refresh_token: SecretStr | None = Field(
        default=None, validation_alias=_env("HUBSPOT_REFRESH_TOKEN")
    )
    explorium_api_key: SecretStr | None = Field(
        default=None, validation_alias=_env("EXPLORIUM_API_KEY")
    )
    lemlist_api_key: SecretStr | None = Field(
        default=None, validation_alias=_env("LEMLIST_API_KEY")
    )
    lemlist_webhook_secret: SecretStr | None = Field(
        default=None,
        validation_alias=_env("LEMLIST_WEBHOOK_SECRET"),
        description="The secret Lemlist echoes in every webhook payload.",
    )
    webhook_public_url: str | None = Field(
        default=None,
        pattern=r"^https?://[^?#\s]+$",
        validation_alias=_env("SALES_PIPELINE_WEBHOOK_PUBLIC_URL"),
        description="The receiver's public base URL (behind the TLS proxy); HubSpot signs it.",
    )
    webhook_max_body_bytes: int = Field(
        default=1024 * 1024,
        gt=0,
        validation_alias=_env("SALES_PIPELINE_WEBHOOK_MAX_BODY_BYTES"),
        description="Largest webhook body the receiver reads; larger ones answer 413.",
    )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """The settings in ``environ`` (the process environment by default); empty values
        count as unset."""
        source = os.environ if environ is None else environ
        return cls.model_validate({name: value for name, value in source.items() if value})

    @property
    def hubspot_auth(self) -> Literal["token", "oauth"]:
        """How HubSpot is reached: a private-app token when one is set or no OAuth client is
        configured (then the token is what is missing), else OAuth."""
        if self.hubspot_access_token is not None or self.hubspot_client_id is None:
            return "token"
        return "oauth"

    @property
    def pipeline_home(self) -> Path:
        """The local state folder, absolute."""
        return self.home.resolve()

    @property
    def store_url(self) -> str:
        """The store's URL: the configured one, else a SQLite file in the pipeline home."""
        return self.database_url or f"sqlite:///{self.pipeline_home / 'store.sqlite'}"

    @property
    def limiter_url(self) -> str:
        """The limiter's shared backend: the configured one, else the store's PostgreSQL when
        the store is on PostgreSQL, else a SQLite file in the pipeline home (shared by every
        process on this machine, which Dagster's multiprocess executor needs)."""
        if self.rate_limit_url:
            return self.rate_limit_url
        if self.store_url.startswith("postgresql"):
            return self.store_url
        return f"sqlite:///{self.pipeline_home / 'ratelimit.sqlite'}"


def load_settings() -> Settings:
    """The process's settings, read from its environment on first use and again only when the
    environment changed (a test, or a process that sets a variable, sees its own change)."""
    return _settings_for(tuple(sorted(os.environ.items())))


@lru_cache(maxsize=8)
def _settings_for(environ: tuple[tuple[str, str], ...]) -> Settings:
    return Settings.from_env(dict(environ))
