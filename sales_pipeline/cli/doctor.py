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

The vendors are probed through the same resources (``*Resource.get_client()``) the assets use,
built from the same :class:`~sales_pipeline.settings.Settings`, with short timeouts and two
tries. Every printed line is redacted, so no credential is ever printed. The exit code is 0 when
every check passed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from sales_pipeline.clients import (
    AuthError,
    HealthReport,
    QuotaExhausted,
    RateLimit,
    RateLimiter,
    VendorClient,
    redact,
)
from sales_pipeline.defs.resources import (
    MissingSettingError,
    PipelineResources,
    resources_from_settings,
)
from sales_pipeline.settings import RATE_LIMIT_URL_ENV, Settings
from sales_pipeline.store.pipeline_store import PipelineStore

PROBE_OVERRIDES = {
    "rate_limit_url": "memory://",
    "connect_timeout_s": 5.0,
    "read_timeout_s": 15.0,
    "total_timeout_s": 20.0,
    "max_tries": 2,
    "max_rate_limited_tries": 2,
    "max_elapsed_s": 30.0,
}
"""A probe should answer quickly (two tries, no long waits) and not depend on the shared
limiter, which has a check of its own."""

_PROBE_LIMIT = RateLimit("doctor", 1000, 1.0)
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


def run_doctor(settings: Settings, out: Callable[[str], None] = print) -> int:
    """Check the store, the limiter backend and the three APIs; print one line per check.

    Returns 0 when every check passed, 1 otherwise.
    """
    resources = resources_from_settings(settings, resolve_secrets=True, overrides=PROBE_OVERRIDES)
    results = [
        check_store(settings.store_url),
        check_rate_limiter(settings.limiter_url),
        check_hubspot(resources, settings),
        check_explorium(resources),
        check_lemlist(resources),
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


def check_hubspot(resources: PipelineResources, settings: Settings) -> CheckResult:
    """Probe HubSpot with the private-app token, else with the OAuth tokens the pipeline keeps
    in the store (a refresh is persisted there)."""
    hubspot = resources.hubspot
    if settings.hubspot_auth == "oauth":
        try:
            resources.store.get_store()
        except Exception as error:  # reported in full by the store check
            return CheckResult(
                "hubspot",
                False,
                f"the OAuth tokens are kept in the store, which fails: {_first_line(error)}",
            )
        fix = _OAUTH_FIX
    else:
        fix = "check HUBSPOT_ACCESS_TOKEN"
    try:
        with hubspot.get_client() as client:
            report = client.check_health()
            warnings = _warnings(client)
    except MissingSettingError as missing:
        return CheckResult("hubspot", False, str(missing))
    finally:
        resources.store.close()
    return _warned(_from_report("hubspot", "HubSpot", hubspot.base_url, report, fix), warnings)


def check_explorium(resources: PipelineResources) -> CheckResult:
    """Probe Explorium's credits endpoint; no credits left is a failure too."""
    explorium = resources.explorium
    try:
        with explorium.get_client() as client:
            report = client.check_health()
            warnings = _warnings(client)
    except MissingSettingError as missing:
        return CheckResult("explorium", False, str(missing))
    result = _warned(
        _from_report(
            "explorium", "Explorium", explorium.base_url, report, "check EXPLORIUM_API_KEY"
        ),
        warnings,
    )
    remaining = (report.extra or {}).get("remaining_credits")
    if not result.ok or not isinstance(remaining, int):
        return result
    if remaining <= 0:
        return CheckResult(
            "explorium", False, "no Explorium credits left: enrichment stops until more are added"
        )
    return CheckResult("explorium", True, f"{result.message}; {remaining:,} credits left")


def check_lemlist(resources: PipelineResources) -> CheckResult:
    """Probe Lemlist's campaign list."""
    lemlist = resources.lemlist
    try:
        with lemlist.get_client() as client:
            report = client.check_health()
            warnings = _warnings(client)
    except MissingSettingError as missing:
        return CheckResult("lemlist", False, str(missing))
    return _warned(
        _from_report("lemlist", "Lemlist", lemlist.base_url, report, "check LEMLIST_API_KEY"),
        warnings,
    )


def _warnings(client: VendorClient) -> list[str]:
    """What the operator should know although the check passed: a deprecated API version
    configured (HubSpot OAuth v1), deprecation notices the vendor sent during the probe."""
    notices = [
        f"{notice.endpoint} is deprecated ({', '.join(f'{k}: {v}' for k, v in notice.headers)})"
        for notice in client.deprecation_notices()
    ]
    return [*client.version_warnings(), *notices]


def _warned(result: CheckResult, warnings: list[str]) -> CheckResult:
    """``result`` with ``warnings`` appended to its message."""
    if not warnings:
        return result
    return CheckResult(result.name, result.ok, f"{result.message}; warning: {'; '.join(warnings)}")


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
