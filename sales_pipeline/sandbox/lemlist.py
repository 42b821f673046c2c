"""Emulation of the lemlist API (being written)."""

from __future__ import annotations

from typing import Any

from .http import Response, Route, json_response
from .vendor import Vendor


class LemlistApi(Vendor):
    """Placeholder until the emulation lands."""

    name = "lemlist"

    def routes(self) -> list[Route]:
        return []

    def fault_response(self, kind: str, status: int) -> Response:
        return json_response(status, {"message": kind})

    def state(self) -> dict[str, Any]:
        return {}

    def reset(self) -> None:
        return None
