"""Helpers for the HubSpot sandbox tests (no tests here): a tiny HTTP helper and the answer
shapes of ``shared/api-facts/hubspot.md`` as JSON schemas.

HubSpot's OpenAPI documents are not licensed for copying (``shared/specs/SOURCES.md``), so the
contract is the fact file: each schema below restates one shape it gives, field for field.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests
from jsonschema import Draft202012Validator

from sales_pipeline.sandbox import SandboxHandle
from sales_pipeline.sandbox.core.world import World

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

ISO_MS = {"type": "string", "pattern": r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$"}
UUID = {
    "type": "string",
    "pattern": r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$",
}

CONTACT_FIELDS: dict[str, Any] = {
    "id": {"type": "string", "pattern": r"^\d+$"},
    "properties": {
        "type": "object",
        "required": ["hs_object_id", "createdate", "lastmodifieddate"],
        "additionalProperties": {"type": ["string", "null"]},
    },
    "createdAt": ISO_MS,
    "updatedAt": ISO_MS,
    "archived": {"type": "boolean"},
    "archivedAt": ISO_MS,
}
CONTACT_REQUIRED = ["id", "properties", "createdAt", "updatedAt", "archived"]
CONTACT = {
    "type": "object",
    "required": CONTACT_REQUIRED,
    "additionalProperties": False,
    "properties": CONTACT_FIELDS,
}
UPSERTED = {
    "type": "object",
    "required": [*CONTACT_REQUIRED, "new"],
    "additionalProperties": False,
    "properties": {**CONTACT_FIELDS, "new": {"type": "boolean"}},
}
LIST_PAGE = {
    "type": "object",
    "required": ["results"],
    "additionalProperties": False,
    "properties": {
        "results": {"type": "array", "items": CONTACT},
        "paging": {
            "type": "object",
            "required": ["next"],
            "additionalProperties": False,
            "properties": {
                "next": {
                    "type": "object",
                    "required": ["after", "link"],
                    "additionalProperties": False,
                    "properties": {"after": {"type": "string"}, "link": {"type": "string"}},
                }
            },
        },
    },
}
SEARCH_PAGE = {
    "type": "object",
    "required": ["total", "results"],
    "additionalProperties": False,
    "properties": {
        "total": {"type": "integer", "minimum": 0},
        "results": {"type": "array", "items": CONTACT},
        "paging": {
            "type": "object",
            "required": ["next"],
            "properties": {
                "next": {
                    "type": "object",
                    "required": ["after"],
                    "properties": {"after": {"type": "string", "pattern": r"^\d+$"}},
                }
            },
        },
    },
}
BATCH_ERROR = {
    "type": "object",
    "required": ["status", "category", "message", "context"],
    "properties": {
        "status": {"const": "error"},
        "category": {"type": "string"},
        "message": {"type": "string"},
        "context": {
            "type": "object",
            "additionalProperties": {"type": "array", "items": {"type": "string"}},
        },
        "errors": {"type": "array", "items": {"type": "object", "required": ["message"]}},
    },
}
BATCH = {
    "type": "object",
    "required": ["status", "results", "startedAt", "completedAt"],
    "additionalProperties": False,
    "properties": {
        "status": {"const": "COMPLETE"},
        "results": {"type": "array"},
        "numErrors": {"type": "integer", "minimum": 1},
        "errors": {"type": "array", "items": BATCH_ERROR, "minItems": 1},
        "startedAt": ISO_MS,
        "completedAt": ISO_MS,
    },
    "dependentRequired": {"errors": ["numErrors"], "numErrors": ["errors"]},
}
ERROR = {
    "type": "object",
    "required": ["status", "message", "correlationId", "category"],
    "properties": {
        "status": {"const": "error"},
        "message": {"type": "string"},
        "correlationId": UUID,
        "category": {"type": "string"},
        "subCategory": {"type": "string"},
        "context": {"type": "object"},
        "errors": {"type": "array"},
    },
}
RATE_LIMIT = {
    "type": "object",
    "required": ["status", "message", "errorType", "correlationId", "policyName", "requestId"],
    "additionalProperties": False,
    "properties": {
        "status": {"const": "error"},
        "message": {"type": "string"},
        "errorType": {"const": "RATE_LIMIT"},
        "correlationId": UUID,
        "policyName": {"enum": ["TEN_SECONDLY_ROLLING", "SECONDLY", "DAILY"]},
        "requestId": {"type": "string"},
    },
}
OAUTH_TOKENS = {
    "type": "object",
    "required": ["access_token", "refresh_token", "expires_in", "token_type"],
    "additionalProperties": False,
    "properties": {
        "access_token": {"type": "string", "minLength": 20},
        "refresh_token": {"type": "string", "minLength": 20},
        "expires_in": {"const": 1800},
        "token_type": {"const": "bearer"},
    },
}
OAUTH_ERROR = {
    "type": "object",
    "required": ["status", "message", "error", "error_description", "correlationId"],
    "properties": {
        "status": {"type": "string", "pattern": "^BAD_|^MISMATCH_"},
        "error": {"type": "string"},
        "error_description": {"type": "string"},
        "correlationId": UUID,
    },
}
PROPERTY = {
    "type": "object",
    "required": ["name", "label", "type", "fieldType", "groupName", "options"],
    "properties": {
        "name": {"type": "string"},
        "type": {"enum": ["string", "number", "date", "datetime", "enumeration", "bool"]},
        "options": {
            "type": "array",
            "items": {"type": "object", "required": ["label", "value"]},
        },
    },
}


def assert_shape(schema: dict[str, Any], body: Any) -> None:
    """Fail with jsonschema's explanation unless ``body`` has the fact file's shape."""
    Draft202012Validator(schema).validate(body)


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
