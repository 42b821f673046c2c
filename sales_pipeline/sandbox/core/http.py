"""The sandbox's tiny HTTP toolkit: requests, responses and a regex router.

Built on the standard library rather than a web framework because the sandbox must misbehave
the way real networks do (hang, drop the connection, send half a body), which frameworks hide.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs


@dataclass(frozen=True)
class Request:
    """One parsed HTTP request, with the vendor prefix already stripped from ``path``."""

    method: str
    path: str
    query: Mapping[str, list[str]]
    headers: Mapping[str, str]
    body: bytes = b""

    def arg(self, name: str, default: str | None = None) -> str | None:
        """The first value of query parameter ``name``, or ``default``."""
        values = self.query.get(name)
        return values[0] if values else default

    def header(self, name: str) -> str | None:
        """A request header, case-insensitively."""
        wanted = name.lower()
        for key, value in self.headers.items():
            if key.lower() == wanted:
                return value
        return None

    def json(self) -> Any:
        """The body decoded as JSON; raises ``ValueError`` when it is not JSON."""
        return json.loads(self.body.decode("utf-8"))

    def form(self) -> dict[str, str]:
        """The body decoded as ``application/x-www-form-urlencoded``."""
        parsed = parse_qs(self.body.decode("utf-8"), keep_blank_values=True)
        return {key: values[0] for key, values in parsed.items()}


@dataclass
class Response:
    """An HTTP response; ``tag`` marks why it was produced (``rate_limited`` is counted)."""

    status: int
    body: bytes = b""
    content_type: str = "application/json; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)
    tag: str | None = None


def json_response(
    status: int, payload: Any, headers: Mapping[str, str] | None = None, tag: str | None = None
) -> Response:
    """A JSON response."""
    body = json.dumps(payload, separators=(",", ":")).encode("utf-8")
    return Response(status, body, headers=dict(headers or {}), tag=tag)


def text_response(
    status: int, text: str, headers: Mapping[str, str] | None = None, tag: str | None = None
) -> Response:
    """A ``text/plain`` response, as Lemlist sends its errors."""
    return Response(
        status,
        text.encode("utf-8"),
        content_type="text/plain; charset=utf-8",
        headers=dict(headers or {}),
        tag=tag,
    )


Handler = Callable[..., Response]


@dataclass(frozen=True)
class Route:
    """``method`` + a path regex with named groups, passed to ``handler`` as keyword args.

    ``name`` is the endpoint label used in the sandbox's stats (for example ``search``).
    """

    method: str
    pattern: str
    handler: Handler
    name: str

    def match(self, method: str, path: str) -> dict[str, str] | None:
        """The path parameters when this route serves ``method path``, else ``None``."""
        if method != self.method:
            return None
        found = re.fullmatch(self.pattern, path)
        return found.groupdict() if found else None


class Router:
    """Finds the route for a request; answers 404/405 like a plain web server would."""

    def __init__(self, routes: list[Route]) -> None:
        self._routes = routes

    def resolve(self, method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        """The first route serving ``method path`` and its path parameters."""
        for route in self._routes:
            params = route.match(method, path)
            if params is not None:
                return route, params
        return None

    def allows_path(self, path: str) -> bool:
        """Whether some route serves ``path`` with another method (for 405 answers)."""
        return any(re.fullmatch(route.pattern, path) for route in self._routes)
