"""Helpers for the HubSpot sandbox tests (no tests here): a tiny HTTP helper and names for the
parts of the project's HubSpot contract (``sales_pipeline_tests/contracts/schemas/hubspot``).

HubSpot's OpenAPI documents are not licensed for copying (``shared/specs/SOURCES.md``), so the
contract restates ``api-facts/hubspot.md`` and the models of HubSpot's official Python SDK.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests

from sales_pipeline.sandbox import SandboxHandle
from sales_pipeline.sandbox.core.world import World
from sales_pipeline_tests.contracts.loader import validate

CONTACTS = "/crm/v3/objects/contacts"
SEARCH = CONTACTS + "/search"
PROPERTIES = "/crm/v3/properties/contacts"
TOKEN = "/oauth/v1/token"
REDIRECT_URI = "https://pipeline.example.com/oauth/callback"
FULL_SCOPES = "crm.objects.contacts.read crm.objects.contacts.write crm.schemas.contacts.read"
RATE_HEADERS = (
    "X-HubSpot-RateLimit-Max",
    "X-HubSpot-RateLimit-Remaining",
    "X-HubSpot-RateLimit-Interval-Milliseconds",
    "X-HubSpot-RateLimit-Daily",
    "X-HubSpot-RateLimit-Daily-Remaining",
)

Shape = tuple[str, str]
"""A part of the project's HubSpot contract: (schema file, part under ``$defs``)."""

CONTACT: Shape = ("get_contact", "response")
UPSERTED: Shape = ("common", "upsertedContact")
LIST_PAGE: Shape = ("list_contacts", "response")
SEARCH_PAGE: Shape = ("search_contacts", "response")
BATCH_READ: Shape = ("batch_read_contacts", "response")
BATCH_UPSERT: Shape = ("batch_upsert_contacts", "response")
ERROR: Shape = ("errors", "error")
RATE_LIMIT: Shape = ("errors", "rateLimit")
OAUTH_TOKENS: Shape = ("oauth_token", "response")
OAUTH_ERROR: Shape = ("oauth_token", "error")
PROPERTY: Shape = ("list_contact_properties", "property")


def assert_shape(shape: Shape, body: Any) -> None:
    """Fail with jsonschema's explanation unless ``body`` fits that part of the contract."""
    validate("hubspot", *shape, body)


def rate_headers(response: requests.Response) -> dict[str, str]:
    """The ``X-HubSpot-RateLimit-*`` headers of an answer."""
    return {
        k: v for k, v in response.headers.items() if k.lower().startswith("x-hubspot-ratelimit")
    }


@dataclass
class HubSpot:
    """Speaks to the sandbox's HubSpot with the private-app token (or ``token``)."""

    handle: SandboxHandle
    token: str | None = None
    session: requests.Session = field(default_factory=requests.Session)

    @property
    def world(self) -> World:
        """The world behind the sandbox: the truth answers must reflect."""
        return self.handle.sandbox.vendors["hubspot"].context.world

    def request(
        self, method: str, path: str, token: str | None = None, **kwargs: Any
    ) -> requests.Response:
        """``method path`` with ``Authorization: Bearer`` (the private-app token by default)."""
        bearer = token or self.token or self.handle.credentials.hubspot_token
        headers = {"Authorization": f"Bearer {bearer}", **kwargs.pop("headers", {})}
        return self.session.request(
            method, f"{self.handle.hubspot_url}{path}", headers=headers, timeout=10, **kwargs
        )

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        """GET with auth."""
        return self.request("GET", path, **kwargs)

    def post(self, path: str, body: Any, **kwargs: Any) -> requests.Response:
        """POST a JSON body with auth."""
        return self.request("POST", path, json=body, **kwargs)

    def search(self, body: dict[str, Any]) -> requests.Response:
        """POST a search body."""
        return self.post(SEARCH, body)

    def control(self, method: str, action: str, body: Any = None) -> Any:
        """Call the ``/_sandbox`` control plane; its JSON answer (raises on errors)."""
        answer = requests.request(
            method, f"{self.handle.control_url}/{action}", json=body, timeout=30
        )
        answer.raise_for_status()
        return answer.json()

    def configure(self, **settings: Any) -> Any:
        """``PUT /_sandbox/limits {"hubspot": settings}``."""
        return self.control("PUT", "limits", {"hubspot": settings})

    def advance_clock(self, seconds: float) -> None:
        """Move the sandbox clock forward."""
        self.control("POST", "clock", {"advance_seconds": seconds})

    def faults(self, section: dict[str, Any]) -> None:
        """Install a fault profile for HubSpot only."""
        self.control("PUT", "faults", {"profile": {"hubspot": section}})

    def authorize(self, scope: str = FULL_SCOPES, state: str = "csrf-42") -> str:
        """Run the consent stand-in; the code its redirect carries."""
        answer = self.session.get(
            f"{self.handle.hubspot_url}/oauth/authorize",
            params={
                "client_id": self.handle.credentials.hubspot_client_id,
                "redirect_uri": REDIRECT_URI,
                "scope": scope,
                "state": state,
            },
            allow_redirects=False,
            timeout=10,
        )
        assert answer.status_code == 302, answer.text
        query = parse_qs(urlsplit(answer.headers["Location"]).query)
        assert query["state"] == [state]
        return query["code"][0]

    def token_request(self, form: dict[str, str], path: str = TOKEN) -> requests.Response:
        """POST a form-encoded token request."""
        return self.session.post(f"{self.handle.hubspot_url}{path}", data=form, timeout=10)

    def exchange(self, code: str, path: str = TOKEN) -> requests.Response:
        """Trade an authorization code for tokens."""
        creds = self.handle.credentials
        return self.token_request(
            {
                "grant_type": "authorization_code",
                "client_id": creds.hubspot_client_id,
                "client_secret": creds.hubspot_client_secret,
                "redirect_uri": REDIRECT_URI,
                "code": code,
            },
            path,
        )

    def refresh(self, refresh_token: str, path: str = TOKEN) -> requests.Response:
        """Trade a refresh token for new tokens."""
        creds = self.handle.credentials
        return self.token_request(
            {
                "grant_type": "refresh_token",
                "client_id": creds.hubspot_client_id,
                "client_secret": creds.hubspot_client_secret,
                "refresh_token": refresh_token,
            },
            path,
        )

    def oauth_tokens(self, scope: str = FULL_SCOPES) -> dict[str, Any]:
        """The full code flow: consent, then exchange."""
        answer = self.exchange(self.authorize(scope))
        assert answer.status_code == 200, answer.text
        tokens: dict[str, Any] = answer.json()
        return tokens
