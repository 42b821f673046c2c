"""`run_doctor` against the sandbox: all ok, refused keys, missing variables, OAuth tokens
kept in the store, unreachable services; never a secret in its output."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from sales_pipeline.cli.doctor import run_doctor
from sales_pipeline.clients import HubSpotClient, HubSpotOAuthConfig, InMemoryTokenStore, Secret
from sales_pipeline.sandbox import SandboxConfig, SandboxHandle, run_sandbox
from sales_pipeline.settings import Settings
from sales_pipeline_tests.integration.conftest import (
    CREDENTIALS,
    REDIRECT_URI,
    SECRETS,
    authorize,
)

WRONG_KEY = "lemlist-wrong-key-4f3e2d1c"


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxHandle]:
    with run_sandbox(SandboxConfig(contacts=50, credentials=CREDENTIALS)) as handle:
        yield handle


@pytest.fixture
def environ(sandbox: SandboxHandle, tmp_path: Path) -> dict[str, str]:
    """A complete, working configuration: the sandbox's URLs and keys, a store and a limiter
    file in a temporary pipeline home."""
    return {
        "SALES_PIPELINE_DATABASE_URL": f"sqlite:///{tmp_path / 'home' / 'store.sqlite'}",
        "SALES_PIPELINE_RATE_LIMIT_URL": f"sqlite:///{tmp_path / 'home' / 'ratelimit.sqlite'}",
        "HUBSPOT_BASE_URL": sandbox.hubspot_url,
        "HUBSPOT_ACCESS_TOKEN": CREDENTIALS.hubspot_token,
        "EXPLORIUM_BASE_URL": sandbox.explorium_url,
        "EXPLORIUM_API_KEY": CREDENTIALS.explorium_key,
        "LEMLIST_BASE_URL": sandbox.lemlist_url,
        "LEMLIST_API_KEY": CREDENTIALS.lemlist_key,
    }


def doctor(environ: dict[str, str]) -> tuple[int, dict[str, str]]:
    """The exit code and the report's line for each check name."""
    lines: list[str] = []
    code = run_doctor(Settings.from_env(environ), out=lines.append)
    printed = "\n".join(lines)
    assert not [secret for secret in (*SECRETS, WRONG_KEY) if secret in printed]
    by_check = {line[5:18].strip(): line for line in lines[:-1]}
    return code, by_check


def test_a_working_configuration_passes_every_check(environ):
    code, lines = doctor(environ)

    assert code == 0
    assert list(lines) == ["store", "rate limiter", "hubspot", "explorium", "lemlist"]
    assert all(line.startswith("ok ") for line in lines.values()), lines
    assert "credits left" in lines["explorium"]


def test_a_refused_key_fails_naming_the_variable_without_printing_the_key(environ):
    environ["LEMLIST_API_KEY"] = WRONG_KEY

    code, lines = doctor(environ)

    assert code == 1
    assert lines["lemlist"].startswith("FAIL")
    assert "401 from Lemlist" in lines["lemlist"]
    assert "check LEMLIST_API_KEY" in lines["lemlist"]
    assert lines["hubspot"].startswith("ok ")


@pytest.mark.parametrize(
    ("unset", "check", "message"),
    [
        ("EXPLORIUM_API_KEY", "explorium", "EXPLORIUM_API_KEY is not set"),
        ("HUBSPOT_ACCESS_TOKEN", "hubspot", "HUBSPOT_ACCESS_TOKEN is not set"),
    ],
)
def test_a_missing_variable_is_named(environ, unset, check, message):
    del environ[unset]

    code, lines = doctor(environ)

    assert code == 1
    assert lines[check].startswith("FAIL")
    assert message in lines[check]


def _use_oauth(sandbox: SandboxHandle, environ: dict[str, str]) -> None:
    """Grant the app through the sandbox's consent flow and configure OAuth instead of the
    private-app token."""
    consent = HubSpotClient(
        sandbox.hubspot_url,
        oauth=HubSpotOAuthConfig(
            client_id=CREDENTIALS.hubspot_client_id,
            client_secret=Secret(CREDENTIALS.hubspot_client_secret),
            redirect_uri=REDIRECT_URI,
            token_store=InMemoryTokenStore(),
            authorize_url=f"{sandbox.hubspot_url}/oauth/authorize",
        ),
    )
    granted = consent.exchange_code(authorize(consent))
    del environ["HUBSPOT_ACCESS_TOKEN"]
    environ["HUBSPOT_CLIENT_ID"] = CREDENTIALS.hubspot_client_id
    environ["HUBSPOT_CLIENT_SECRET"] = CREDENTIALS.hubspot_client_secret
    environ["HUBSPOT_REFRESH_TOKEN"] = granted.refresh_token.reveal()


def test_oauth_tokens_are_refreshed_and_kept_in_the_store_across_runs(sandbox, environ):
    _use_oauth(sandbox, environ)

    first_code, first = doctor(environ)
    second_code, second = doctor(environ)

    assert (first_code, second_code) == (0, 0)
    assert first["hubspot"].startswith("ok ")
    assert second["hubspot"].startswith("ok ")


def test_a_missing_oauth_client_secret_is_named(environ):
    del environ["HUBSPOT_ACCESS_TOKEN"]
    environ["HUBSPOT_CLIENT_ID"] = CREDENTIALS.hubspot_client_id

    _, lines = doctor(environ)

    assert "HUBSPOT_CLIENT_SECRET is not set" in lines["hubspot"]


def test_unreachable_services_and_backends_fail_with_where_they_were_looked_for(environ):
    environ["LEMLIST_BASE_URL"] = "http://127.0.0.1:9/lemlist/api"
    environ["SALES_PIPELINE_RATE_LIMIT_URL"] = "redis://:hunter2-secret@127.0.0.1:9/0"
    environ["SALES_PIPELINE_DATABASE_URL"] = "mysql://127.0.0.1/store"

    code, lines = doctor(environ)

    assert code == 1
    assert "cannot reach http://127.0.0.1:9/lemlist/api" in lines["lemlist"]
    assert lines["rate limiter"].startswith("FAIL")
    assert "redis://:***@127.0.0.1:9/0" in lines["rate limiter"]
    assert "hunter2" not in lines["rate limiter"]
    assert lines["store"].startswith("FAIL")
    assert "mysql://127.0.0.1/store" in lines["store"]


def test_oauth_v1_is_named_as_deprecated(sandbox, environ):
    _use_oauth(sandbox, environ)
    environ["HUBSPOT_OAUTH_VERSION"] = "v1"

    code, lines = doctor(environ)

    assert code == 0
    assert "warning" in lines["hubspot"]
    assert "v1" in lines["hubspot"]
    assert "2027-02-16" in lines["hubspot"]
