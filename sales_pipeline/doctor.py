"""``sales-pipeline doctor``: can this deployment reach everything it needs, with working
credentials?

One line per check, ``ok`` or ``FAIL`` with what to do about it:

* the store (``SALES_PIPELINE_DATABASE_URL``, default a SQLite file in the pipeline home);
* the rate limiter's shared backend (``SALES_PIPELINE_RATE_LIMIT_URL``, default per
  `sales_pipeline.settings`);
* HubSpot (``HUBSPOT_ACCESS_TOKEN``, or OAuth with ``HUBSPOT_CLIENT_ID``,
  ``HUBSPOT_CLIENT_SECRET`` and the tokens in the store or ``HUBSPOT_REFRESH_TOKEN``),
  Explorium (``EXPLORIUM_API_KEY``) and Lemlist (``LEMLIST_API_KEY``), each through its
  client's ``check_health`` at ``*_BASE_URL`` (default: the vendor's own URL).

Secrets are read from the environment into `Secret`s at once and every printed line is
redacted, so no credential is ever printed. The exit code is 0 when every check passed.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from sales_pipeline.clients import (
    AuthError,
    ExploriumClient,
    HealthReport,
    HubSpotClient,
    HubSpotOAuthConfig,
    LemlistClient,
    QuotaExhausted,
    RateLimit,
    RateLimiter,
    RetryPolicy,
    Secret,
    Timeouts,
    TransportConfig,
    redact,
)
from sales_pipeline.clients.explorium import DEFAULT_BASE_URL as EXPLORIUM_DEFAULT_URL
from sales_pipeline.clients.hubspot import DEFAULT_BASE_URL as HUBSPOT_DEFAULT_URL
from sales_pipeline.clients.lemlist import DEFAULT_BASE_URL as LEMLIST_DEFAULT_URL
from sales_pipeline.settings import (
    DATABASE_URL_ENV,
    RATE_LIMIT_URL_ENV,
    default_database_url,
    default_rate_limit_url,
)
from sales_pipeline.store import PipelineStore, StoreTokenStore

DOCTOR_TRANSPORT = TransportConfig(
    timeouts=Timeouts(connect_s=5.0, read_s=15.0, total_s=20.0),
    retry=RetryPolicy(max_tries=2, max_rate_limited_tries=2, max_elapsed_s=30.0),
)
"""A probe should answer quickly: two tries, no long waits."""

_PROBE_LIMIT = RateLimit("doctor", 1000, 1.0)
_OAUTH_VARIABLES = "HUBSPOT_CLIENT_ID, HUBSPOT_CLIENT_SECRET and HUBSPOT_REFRESH_TOKEN"
_OAUTH_FIX = (
    "authorize the app again and set HUBSPOT_REFRESH_TOKEN to the new refresh token "
    "(and check HUBSPOT_CLIENT_ID and HUBSPOT_CLIENT_SECRET)"
)


@dataclass(frozen=True)
class CheckResult:
    """One line of the doctor's report."""

    name: str
    ok: bool
    message: str

    def line(self) -> str:
        """``ok   store         message`` (redacted)."""
        return redact(f"{'ok' if self.ok else 'FAIL':<4} {self.name:<13} {self.message}")


def run_doctor(environ: Mapping[str, str] = os.environ, out: Callable[[str], None] = print) -> int:
    """Check the store, the limiter backend and the three APIs; print one line per check.

    Args:
        environ: Where the variables are read (the process environment by default). The
            store and limiter URLs not set there fall back to `sales_pipeline.settings`,
            which reads the process environment.
        out: Receives each line of the report.

    Returns:
        0 when every check passed, 1 otherwise.
    """
    store_url = _get(environ, DATABASE_URL_ENV) or default_database_url()
    results = [
        check_store(store_url),
        check_rate_limiter(_get(environ, RATE_LIMIT_URL_ENV) or default_rate_limit_url()),
        check_hubspot(environ, store_url),
        check_explorium(environ),
        check_lemlist(environ),
    ]
    for result in results:
        out(result.line())
    failed = sum(not result.ok for result in results)
    out(f"{failed} of {len(results)} checks failed" if failed else "all checks passed")
    return 1 if failed else 0


def check_store(url: str) -> CheckResult:
    """Open (and migrate) the store and run its health query."""
    shown = _without_password(url)
    try:
        with PipelineStore(url) as store:
            version = store.check_health()
    except Exception as error:  # any driver or URL error means "cannot use it"
        return CheckResult("store", False, f"cannot use {shown}: {_first_line(error)}")
    return CheckResult("store", True, f"{shown} (schema version {version})")


def check_rate_limiter(url: str) -> CheckResult:
    """Take one permit from the shared limiter backend."""
    shown = _without_password(url)
    try:
        limiter = RateLimiter(url, namespace="sales_pipeline_doctor", max_wait_s=10.0)
        try:
            limiter.acquire("doctor:probe:default", _PROBE_LIMIT)
        finally:
            limiter.close()
    except Exception as error:  # any backend or URL error means "cannot use it"
        return CheckResult(
            "rate limiter",
            False,
            f"cannot use {shown}: {_first_line(error)}; set {RATE_LIMIT_URL_ENV} "
            "to a reachable memory://, sqlite:///, postgresql:// or redis:// URL",
        )
    return CheckResult("rate limiter", True, shown)


def check_hubspot(environ: Mapping[str, str], store_url: str) -> CheckResult:
    """Probe HubSpot with the private-app token, else with OAuth tokens."""
    base_url = _get(environ, "HUBSPOT_BASE_URL") or HUBSPOT_DEFAULT_URL
    token = _get(environ, "HUBSPOT_ACCESS_TOKEN")
    if token:
        with HubSpotClient(
            base_url, access_token=Secret(token), transport_config=DOCTOR_TRANSPORT
        ) as client:
            report = client.check_health()
        return _from_report("hubspot", "HubSpot", base_url, report, "check HUBSPOT_ACCESS_TOKEN")
    client_id = _get(environ, "HUBSPOT_CLIENT_ID")
    if not client_id:
        return CheckResult(
            "hubspot",
            False,
            f"HUBSPOT_ACCESS_TOKEN is not set (for OAuth instead, set {_OAUTH_VARIABLES})",
        )
    client_secret = _get(environ, "HUBSPOT_CLIENT_SECRET")
    if not client_secret:
        return CheckResult(
            "hubspot", False, "HUBSPOT_CLIENT_SECRET is not set (needed with HUBSPOT_CLIENT_ID)"
        )
    refresh_token = _get(environ, "HUBSPOT_REFRESH_TOKEN")
    return _check_hubspot_oauth(base_url, client_id, client_secret, refresh_token, store_url)


def _check_hubspot_oauth(
    base_url: str,
    client_id: str,
    client_secret: str,
    refresh_token: str | None,
    store_url: str,
) -> CheckResult:
    """Probe with the OAuth tokens the pipeline keeps in the store (a refresh is persisted)."""
    try:
        store = PipelineStore(store_url)
    except Exception as error:  # reported in full by the store check
        return CheckResult(
            "hubspot",
            False,
            f"the OAuth tokens are kept in the store, which fails: {_first_line(error)}",
        )
    with store:
        oauth = HubSpotOAuthConfig(
            client_id=client_id,
            client_secret=Secret(client_secret),
            redirect_uri="",  # only the authorization flow uses it, not a refresh
            token_store=StoreTokenStore(store),
            bootstrap_refresh_token=Secret(refresh_token) if refresh_token else None,
        )
        with HubSpotClient(base_url, oauth=oauth, transport_config=DOCTOR_TRANSPORT) as client:
            report = client.check_health()
    return _from_report("hubspot", "HubSpot", base_url, report, _OAUTH_FIX)


def check_explorium(environ: Mapping[str, str]) -> CheckResult:
    """Probe Explorium's credits endpoint; no credits left is a failure too."""
    base_url = _get(environ, "EXPLORIUM_BASE_URL") or EXPLORIUM_DEFAULT_URL
    key = _get(environ, "EXPLORIUM_API_KEY")
    if not key:
        return CheckResult("explorium", False, "EXPLORIUM_API_KEY is not set")
    with ExploriumClient(
        base_url, api_key=Secret(key), transport_config=DOCTOR_TRANSPORT
    ) as client:
        report = client.check_health()
    result = _from_report("explorium", "Explorium", base_url, report, "check EXPLORIUM_API_KEY")
    remaining = (report.extra or {}).get("remaining_credits")
    if not result.ok or not isinstance(remaining, int):
        return result
    if remaining <= 0:
        return CheckResult(
            "explorium", False, "no Explorium credits left: enrichment stops until more are added"
        )
    return CheckResult("explorium", True, f"{result.message}; {remaining:,} credits left")


def check_lemlist(environ: Mapping[str, str]) -> CheckResult:
    """Probe Lemlist's campaign list."""
    base_url = _get(environ, "LEMLIST_BASE_URL") or LEMLIST_DEFAULT_URL
    key = _get(environ, "LEMLIST_API_KEY")
    if not key:
        return CheckResult("lemlist", False, "LEMLIST_API_KEY is not set")
    with LemlistClient(base_url, api_key=Secret(key), transport_config=DOCTOR_TRANSPORT) as client:
        report = client.check_health()
    return _from_report("lemlist", "Lemlist", base_url, report, "check LEMLIST_API_KEY")


def _from_report(
    name: str, label: str, base_url: str, report: HealthReport, fix_credential: str
) -> CheckResult:
    """Turn a client's health report into a line saying what to fix."""
    if report.ok:
        return CheckResult(
            name, True, f"{base_url} accepted the credential ({report.latency_ms:.0f} ms)"
        )
    error = report.error
    reason = error.message if error is not None else report.detail
    status = f"{report.status} from {label}" if report.status else label
    if isinstance(error, QuotaExhausted):
        message = f"{status}: {reason}"
    elif isinstance(error, AuthError):
        message = f"{status}: the credential was refused ({reason}); {fix_credential}"
    elif report.status is None:
        message = f"cannot reach {base_url} ({reason}); check {name.upper()}_BASE_URL"
    elif report.status >= 500:
        message = f"{status}: the service is failing ({reason}); try again later"
    else:
        message = f"{status}: {reason}"
    return CheckResult(name, False, message)


def _get(environ: Mapping[str, str], name: str) -> str | None:
    """The variable's value, with an empty value read as unset."""
    return environ.get(name) or None


def _without_password(url: str) -> str:
    """``url`` with any password in it masked."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def _first_line(error: BaseException) -> str:
    """The first line of an error's text (driver errors run to many lines)."""
    text = str(error).strip() or type(error).__name__
    return text.splitlines()[0]
