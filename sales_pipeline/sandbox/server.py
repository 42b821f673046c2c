"""The sandbox server: one local HTTP server emulating HubSpot, Explorium and Lemlist.

Paths: ``/hubspot/...`` stands for https://api.hubapi.com, ``/explorium/v1/...`` for
https://api.explorium.ai/v1, ``/lemlist/api/...`` for https://api.lemlist.com/api, and
``/_sandbox/...`` is the control plane (loopback clients only, no auth).

While it serves, the sandbox also *sends* webhooks (:mod:`.core.webhooks`): Lemlist hooks fire
as activities unfold, HubSpot posts signed batches of contact events to the target URL set with
``hubspot_webhook_url`` (``--hubspot-webhook-url``) or ``PUT /_sandbox/webhooks``.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from .core.clock import Clock
from .core.deprecations import Notice, Notices
from .core.faults import Fault, FaultInjector, load_profile
from .core.http import Request, Response, Router, json_response
from .core.limits import LimitSettings
from .core.vendor import Credentials, SandboxOptions, Vendor, VendorContext
from .core.webhooks import Delivery, WebhookDispatcher
from .core.world import build_world
from .explorium import ExploriumApi
from .hubspot import HubSpotApi
from .lemlist import LemlistApi

MAX_BODY_BYTES = 10 * 1024 * 1024
PADDING_CHUNK = 64 * 1024


@dataclass
class SandboxConfig:
    """Everything that shapes one sandbox; the CLI flags map onto these fields."""

    host: str = "127.0.0.1"
    port: int = 0
    seed: int = 7
    contacts: int = 5000
    bulk_import: int = 0
    match_rate: float = 0.75
    now: datetime | None = None
    """The moment the world is generated around (default: start time); pin it to build the
    same world in two sandboxes."""
    faults: str | dict[str, Any] = "none"
    rate_scale: float = 1.0
    limits_enabled: bool = True
    credentials: Credentials = field(default_factory=Credentials)
    options: SandboxOptions = field(default_factory=SandboxOptions)
    hubspot_webhook_url: str | None = None
    """Where HubSpot posts contact events (the app's target URL); none: no events."""


class _VendorStats:
    """Requests by endpoint and status, 429s from limits, faults injected."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.by_endpoint: defaultdict[str, Counter[str]] = defaultdict(Counter)
        self.rate_limited = 0
        self.faults: Counter[str] = Counter()

    def record(self, endpoint: str, status: int, tag: str | None, fault: str | None) -> None:
        with self.lock:
            self.by_endpoint[endpoint][str(status)] += 1
            if tag == "rate_limited":
                self.rate_limited += 1
            if fault:
                self.faults[fault] += 1

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            return {
                "requests": sum(sum(c.values()) for c in self.by_endpoint.values()),
                "by_endpoint": {k: dict(v) for k, v in self.by_endpoint.items()},
                "rate_limited": self.rate_limited,
                "faults_injected": dict(self.faults),
            }


class Sandbox:
    """The emulated world and its three vendors; :meth:`handle` serves one request."""

    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self.clock = Clock()
        self.limits = LimitSettings(config.limits_enabled, config.rate_scale)
        self.faults = FaultInjector(load_profile(config.faults), config.seed)
        self.deprecations = Notices()
        self.started = time.monotonic()
        world = build_world(
            seed=config.seed,
            contacts=config.contacts,
            bulk_import=config.bulk_import,
            match_rate=config.match_rate,
            now=config.now,
        )
        context = VendorContext(world, self.clock, self.limits, config.credentials, config.options)
        self.hubspot = HubSpotApi(context)
        self.vendors: dict[str, Vendor] = {
            vendor.name: vendor
            for vendor in (self.hubspot, ExploriumApi(context), LemlistApi(context))
        }
        self._routers = {name: Router(v.routes()) for name, v in self.vendors.items()}
        self._stats = {name: _VendorStats() for name in self.vendors}
        self.webhooks = WebhookDispatcher(self.clock)
        self.hubspot.webhooks.configure({"hubspot_target_url": config.hubspot_webhook_url})

    def webhook_deliveries(self) -> list[Delivery]:
        """What every vendor has to send now."""
        return [d for vendor in self.vendors.values() for d in vendor.webhook_deliveries()]

    def route(self, request: Request) -> tuple[str, str, Response | None, Fault]:
        """Resolve ``request`` (path without the vendor prefix) for ``vendor`` and draw a fault.

        Returns the vendor, the endpoint label, a response when no handler should run (unknown
        path, injected error) and the fault drawn.
        """
        vendor_name, _, rest = request.path.lstrip("/").partition("/")
        vendor = self.vendors[vendor_name]
        inner = Request(request.method, "/" + rest, request.query, request.headers, request.body)
        found = self._routers[vendor_name].resolve(inner.method, inner.path)
        if found is None:
            status = 405 if self._routers[vendor_name].allows_path(inner.path) else 404
            return (
                vendor_name,
                "unknown",
                json_response(status, {"message": "Not Found"}),
                Fault(None),
            )
        route, params = found
        fault = self.faults.draw(vendor_name)
        if fault.kind == "rate_limit":
            response = vendor.fault_response("rate_limit", 429)
        elif fault.kind == "status":
            response = vendor.fault_response("status", fault.status)
        else:
            response = route.handler(inner, **params)
        response.headers.update(
            self.deprecations.headers_for(vendor_name, inner.path, vendor.notices)
        )
        return vendor_name, route.name, response, fault

    def record(
        self, vendor: str, endpoint: str, status: int, tag: str | None, fault: str | None
    ) -> None:
        """Count one answered (or dropped, as status 0) request."""
        self._stats[vendor].record(endpoint, status, tag, fault)

    def stats(self) -> dict[str, Any]:
        """Per vendor: requests by endpoint and status, limit 429s, faults, vendor extras."""
        return {
            name: {
                **self._stats[name].snapshot(),
                **vendor.stats(),
                "webhooks": self.webhooks.stats(name),
            }
            for name, vendor in self.vendors.items()
        }

    def reset(self) -> None:
        """Every vendor back to the initial world; stats, clock, faults and webhook deliveries
        restart, held requests are let go and the deprecation notices added at run time are
        dropped."""
        for vendor in self.vendors.values():
            vendor.reset()
        self.webhooks.reset()
        self.hubspot.webhooks.configure({"hubspot_target_url": self.config.hubspot_webhook_url})
        self._stats = {name: _VendorStats() for name in self.vendors}
        self.clock.reset()
        self.faults.set_profile(self.faults.profile)
        self.faults.hangs.release()
        self.deprecations.clear()

    def control(self, request: Request) -> Response:
        """Serve ``/_sandbox/<action>``."""
        action = request.path.removeprefix("/_sandbox/").strip("/")
        try:
            payload = request.json() if request.body else {}
            return json_response(200, self._control(request.method, action, request, payload))
        except KeyError as missing:
            return json_response(404, {"error": f"no such control endpoint or vendor: {missing}"})
        except (ValueError, TypeError) as bad:
            return json_response(400, {"error": str(bad)})

    def _control(
        self, method: str, action: str, request: Request, payload: dict[str, Any]
    ) -> dict[str, Any]:
        if (method, action) == ("GET", "health"):
            uptime = round(time.monotonic() - self.started, 3)
            return {"status": "ok", "vendors": sorted(self.vendors), "uptime_seconds": uptime}
        if (method, action) == ("GET", "stats"):
            return self.stats()
        if (method, action) == ("GET", "state"):
            wanted = request.arg("vendor")
            names = [wanted] if wanted else sorted(self.vendors)
            return {name: self.vendors[name].state() for name in names}
        if (method, action) == ("POST", "reset"):
            self.reset()
            return {"status": "reset"}
        if action == "faults" and method in ("GET", "PUT"):
            if method == "PUT":
                spec = payload.get("profile", payload)
                self.faults.set_profile(load_profile(spec))
            return {name: f.to_dict() for name, f in self.faults.profile.items()}
        if action == "limits" and method in ("GET", "PUT"):
            return self._limits(payload if method == "PUT" else {})
        if action == "deprecations" and method in ("GET", "POST", "DELETE"):
            return self._deprecations(method, payload)
        if (method, action) == ("GET", "hangs"):
            return {"held": self.faults.hangs.held}
        if (method, action) == ("POST", "hangs/release"):
            return {"released": self.faults.hangs.release()}
        if (method, action) == ("POST", "clock"):
            self.clock.advance(float(payload.get("advance_seconds", 0)))
            self.webhooks.wake()
            return {"now": self.clock.now()}
        if action == "webhooks" and method in ("GET", "PUT"):
            return self._webhook_settings(payload if method == "PUT" else {})
        raise KeyError(action)

    def _webhook_settings(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Apply ``retry_scale`` (> 0), ``max_pending`` (>= 1) and HubSpot's target URL,
        subscribed properties and batch size; return what is in force."""
        unknown = set(payload) - {
            "retry_scale",
            "max_pending",
            "hubspot_target_url",
            "hubspot_properties",
            "hubspot_batch_size",
        }
        if unknown:
            raise ValueError(f"unknown webhook settings: {sorted(unknown)}")
        if "retry_scale" in payload:
            scale = float(payload["retry_scale"])
            if scale <= 0:
                raise ValueError("retry_scale must be positive")
            self.webhooks.retry_scale = scale
        if "max_pending" in payload:
            size = int(payload["max_pending"])
            if size < 1:
                raise ValueError("max_pending must be at least 1")
            self.webhooks.max_pending = size
        hubspot = {key: value for key, value in payload.items() if key.startswith("hubspot_")}
        return {**self.webhooks.settings(), **self.hubspot.webhooks.configure(hubspot)}

    def _deprecations(self, method: str, payload: dict[str, Any]) -> dict[str, Any]:
        """List (``GET``), add (``POST`` one notice) or clear (``DELETE``) deprecation notices."""
        if method == "POST":
            notice = Notice.from_json(payload, self.clock.now())
            if notice.vendor not in self.vendors:
                raise KeyError(notice.vendor)
            self.deprecations.add(notice)
        elif method == "DELETE":
            self.deprecations.clear()
        standing = [n.to_json() for vendor in self.vendors.values() for n in vendor.notices]
        return {"deprecations": self.deprecations.to_json(), "standing": standing}

    def _limits(self, payload: dict[str, Any]) -> dict[str, Any]:
        unknown = set(payload) - {"enabled", "rate_scale", *self.vendors}
        if unknown:
            raise ValueError(f"unknown limit settings: {sorted(unknown)}")
        if "enabled" in payload:
            self.limits.enabled = bool(payload["enabled"])
        if "rate_scale" in payload:
            scale = float(payload["rate_scale"])
            if scale <= 0:
                raise ValueError("rate_scale must be positive")
            self.limits.rate_scale = scale
        vendors = {name: v.configure(payload.get(name) or {}) for name, v in self.vendors.items()}
        return {"enabled": self.limits.enabled, "rate_scale": self.limits.rate_scale, **vendors}


def _is_loopback(address: str) -> bool:
    return address.startswith("127.") or address in ("::1", "localhost")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    """Headers and body go out in separate writes: with Nagle on, each keep-alive answer waits
    for the client's delayed ACK (about 40 ms), capping a session at ~25 requests/s."""
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: the sandbox's stats say what happened."""

    def _serve(self) -> None:
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY_BYTES:
            self._write(json_response(413, {"message": "Request entity too large"}))
            return
        request = Request(
            method=self.command,
            path=parts.path,
            query=parse_qs(parts.query, keep_blank_values=True),
            headers=dict(self.headers.items()),
            body=self.rfile.read(length) if length else b"",
        )
        sandbox = self.server.sandbox
        if parts.path.startswith("/_sandbox/"):
            if not _is_loopback(self.client_address[0]):
                self._write(json_response(403, {"error": "control plane is loopback only"}))
                return
            self._write(sandbox.control(request))
            return
        if parts.path.strip("/").split("/")[0] not in sandbox.vendors:
            self._write(json_response(404, {"message": "Not Found"}))
            return
        vendor, endpoint, response, fault = sandbox.route(request)
        if fault.kind == "hang":
            sandbox.record(vendor, endpoint, 0, None, fault.kind)
            sandbox.faults.hangs.hold(fault.delay)
            self.close_connection = True
            return
        if fault.delay:
            time.sleep(fault.delay)
        assert response is not None
        if fault.kind == "drop":
            sandbox.record(vendor, endpoint, 0, None, fault.kind)
            self._drop()
            return
        sandbox.record(vendor, endpoint, response.status, response.tag, fault.kind)
        if fault.kind == "truncated_json" and response.status < 300:
            self._write(response, truncate=True)
        elif fault.kind == "oversized" and response.status < 300:
            self._write(response, padding=max(fault.size - len(response.body), 0))
        elif fault.kind == "malformed_json" and response.status < 300:
            response.body = b"<html><body><h1>502 Bad Gateway</h1></body></html>"
            self._write(response)
        else:
            self._write(response)

    def _drop(self) -> None:
        """Close the socket without a word, as a crashed proxy would."""
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            return

    def _write(self, response: Response, truncate: bool = False, padding: int = 0) -> None:
        """Send ``response``; ``truncate`` stops half way, ``padding`` appends that many spaces
        (whitespace after a JSON value keeps it valid JSON)."""
        try:
            self.send_response(response.status)
            self.send_header("Content-Type", response.content_type)
            self.send_header("Content-Length", str(len(response.body) + padding))
            for name, value in response.headers.items():
                self.send_header(name, value)
            self.end_headers()
            if truncate:
                self.wfile.write(response.body[: len(response.body) // 2])
                self.wfile.flush()
                self._drop()
                return
            self.wfile.write(response.body)
            for start in range(0, padding, PADDING_CHUNK):
                self.wfile.write(b" " * min(PADDING_CHUNK, padding - start))
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve  # noqa: N815


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        super().__init__(address, _Handler)


@dataclass(frozen=True)
class SandboxAddress:
    """Where a sandbox listens: each vendor's base URL and the control plane's."""

    base_url: str

    @property
    def hubspot_url(self) -> str:
        """Stands for https://api.hubapi.com."""
        return f"{self.base_url}/hubspot"

    @property
    def explorium_url(self) -> str:
        """Stands for https://api.explorium.ai/v1."""
        return f"{self.base_url}/explorium/v1"

    @property
    def lemlist_url(self) -> str:
        """Stands for https://api.lemlist.com/api."""
        return f"{self.base_url}/lemlist/api"

    @property
    def control_url(self) -> str:
        """The ``/_sandbox`` control plane."""
        return f"{self.base_url}/_sandbox"


@dataclass(frozen=True)
class SandboxHandle(SandboxAddress):
    """A running sandbox: its base URLs, the credentials it accepts, and the object itself."""

    sandbox: Sandbox

    @property
    def credentials(self) -> Credentials:
        """The secrets this sandbox accepts."""
        return self.sandbox.config.credentials

    def describe(self) -> dict[str, str]:
        """Base URLs and credentials, as printed on start."""
        creds = self.credentials
        return {
            "hubspot": self.hubspot_url,
            "explorium": self.explorium_url,
            "lemlist": self.lemlist_url,
            "control": self.control_url,
            "hubspot_access_token": creds.hubspot_token,
            "hubspot_client_id": creds.hubspot_client_id,
            "hubspot_client_secret": creds.hubspot_client_secret,
            "explorium_api_key": creds.explorium_key,
            "lemlist_api_key": creds.lemlist_key,
        }


@contextmanager
def run_sandbox(config: SandboxConfig | None = None) -> Iterator[SandboxHandle]:
    """Serve a sandbox on a background thread for the ``with`` block (port 0: any free port),
    sending its webhooks from threads of their own."""
    config = config or SandboxConfig()
    sandbox = Sandbox(config)
    server = _Server((config.host, config.port), sandbox)
    thread = threading.Thread(target=server.serve_forever, name="sandbox", daemon=True)
    thread.start()
    sandbox.webhooks.start(sandbox.webhook_deliveries)
    host, port = server.server_address[:2]
    try:
        yield SandboxHandle(f"http://{host!s}:{port}", server.sandbox)
    finally:
        sandbox.webhooks.stop()
        server.sandbox.faults.hangs.release()
        server.shutdown()
        server.server_close()


def serve(config: SandboxConfig) -> None:
    """Serve in the foreground until interrupted, after printing URLs and credentials."""
    with run_sandbox(config) as handle:
        print(json.dumps(handle.describe(), indent=2), flush=True)
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            return
