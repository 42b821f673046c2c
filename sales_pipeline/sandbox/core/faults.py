"""Fault injection: what a bad day on the vendor's side looks like.

A profile gives, per vendor, the probability of each fault kind per request. ``none``, ``mild``
and ``harsh`` are built in; any other value is a path to a YAML or JSON file of the same shape::

    hubspot:
      error_rates: {500: 0.02, 502: 0.01, 503: 0.01, 504: 0.01}
      rate_limit_burst: 0.02      # a 429 beyond the real limits
      latency: {probability: 0.1, min_ms: 50, max_ms: 400}
      hang: {probability: 0.01, seconds: 30}   # longer than any client timeout
      drop_connection: 0.01       # close the socket without an answer
      truncated_json: 0.01        # a 200 whose body stops half way
      malformed_json: 0.01        # a 200 whose body is not JSON
      oversized: {probability: 0.01, mebibytes: 8}   # a 200 padded to 8 MiB (still valid JSON)
    explorium: {...}
    lemlist: {...}

Draws come from one seeded generator per vendor, so a single-threaded client meets the same
faults in the same order every time for the same seed.

A hung request is held until its ``seconds`` run out or the control plane lets every held
request go (``POST /_sandbox/hangs/release``, a reset, the sandbox stopping); then its
connection closes without an answer.
"""

from __future__ import annotations

import json
import random
import threading
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

VENDORS = ("hubspot", "explorium", "lemlist")
MEBIBYTE = 1024 * 1024


@dataclass(frozen=True)
class VendorFaults:
    """Fault probabilities for one vendor (each in [0, 1])."""

    error_rates: dict[int, float] = field(default_factory=dict)
    rate_limit_burst: float = 0.0
    latency_probability: float = 0.0
    latency_min_ms: float = 0.0
    latency_max_ms: float = 0.0
    hang_probability: float = 0.0
    hang_seconds: float = 30.0
    drop_connection: float = 0.0
    truncated_json: float = 0.0
    malformed_json: float = 0.0
    oversized_probability: float = 0.0
    oversized_mebibytes: float = 8.0

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> VendorFaults:
        """Parse one vendor's section; unknown keys are an error, not a silent no-op."""
        known = {
            "error_rates",
            "rate_limit_burst",
            "latency",
            "hang",
            "drop_connection",
            "truncated_json",
            "malformed_json",
            "oversized",
        }
        unknown = set(raw) - known
        if unknown:
            raise ValueError(f"unknown fault keys: {sorted(unknown)}")
        latency = raw.get("latency") or {}
        hang = raw.get("hang") or {}
        oversized = raw.get("oversized") or {}
        mebibytes = float(oversized.get("mebibytes", 8.0))
        if mebibytes <= 0:
            raise ValueError("oversized mebibytes must be positive")
        return cls(
            error_rates={int(k): float(v) for k, v in (raw.get("error_rates") or {}).items()},
            rate_limit_burst=float(raw.get("rate_limit_burst", 0.0)),
            latency_probability=float(latency.get("probability", 0.0)),
            latency_min_ms=float(latency.get("min_ms", 0.0)),
            latency_max_ms=float(latency.get("max_ms", 0.0)),
            hang_probability=float(hang.get("probability", 0.0)),
            hang_seconds=float(hang.get("seconds", 30.0)),
            drop_connection=float(raw.get("drop_connection", 0.0)),
            truncated_json=float(raw.get("truncated_json", 0.0)),
            malformed_json=float(raw.get("malformed_json", 0.0)),
            oversized_probability=float(oversized.get("probability", 0.0)),
            oversized_mebibytes=mebibytes,
        )

    def to_dict(self) -> dict[str, Any]:
        """The same shape :meth:`from_dict` reads."""
        return {
            "error_rates": {str(k): v for k, v in self.error_rates.items()},
            "rate_limit_burst": self.rate_limit_burst,
            "latency": {
                "probability": self.latency_probability,
                "min_ms": self.latency_min_ms,
                "max_ms": self.latency_max_ms,
            },
            "hang": {"probability": self.hang_probability, "seconds": self.hang_seconds},
            "drop_connection": self.drop_connection,
            "truncated_json": self.truncated_json,
            "malformed_json": self.malformed_json,
            "oversized": {
                "probability": self.oversized_probability,
                "mebibytes": self.oversized_mebibytes,
            },
        }


def _uniform(section: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return dict.fromkeys(VENDORS, section)


BUILT_IN: dict[str, dict[str, dict[str, Any]]] = {
    "none": _uniform({}),
    "mild": _uniform(
        {
            "error_rates": {500: 0.01, 502: 0.01, 503: 0.01, 504: 0.005},
            "rate_limit_burst": 0.01,
            "latency": {"probability": 0.05, "min_ms": 20, "max_ms": 200},
            "drop_connection": 0.005,
            "truncated_json": 0.005,
        }
    ),
    "harsh": _uniform(
        {
            "error_rates": {500: 0.05, 502: 0.04, 503: 0.04, 504: 0.03},
            "rate_limit_burst": 0.05,
            "latency": {"probability": 0.2, "min_ms": 50, "max_ms": 800},
            "hang": {"probability": 0.02, "seconds": 30},
            "drop_connection": 0.03,
            "truncated_json": 0.02,
            "malformed_json": 0.02,
        }
    ),
}


def load_profile(spec: str | dict[str, Any]) -> dict[str, VendorFaults]:
    """Faults per vendor from a built-in name, a file path, or an already parsed mapping."""
    if isinstance(spec, dict):
        raw = spec
    elif spec in BUILT_IN:
        raw = BUILT_IN[spec]
    else:
        path = Path(spec)
        if not path.is_file():
            raise ValueError(f"fault profile {spec!r} is neither built in nor a file")
        text = path.read_text(encoding="utf-8")
        raw = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    unknown = set(raw) - set(VENDORS)
    if unknown:
        raise ValueError(f"unknown vendors in fault profile: {sorted(unknown)}")
    return {vendor: VendorFaults.from_dict(raw.get(vendor) or {}) for vendor in VENDORS}


@dataclass(frozen=True)
class Fault:
    """What to do to one request: ``kind`` is ``status``, ``rate_limit``, ``hang``, ``drop``,
    ``truncated_json``, ``malformed_json``, ``oversized`` or ``None``; ``delay`` is added latency
    (for ``hang``: how long to hold at most), ``size`` the bytes an ``oversized`` answer is padded
    to."""

    kind: str | None
    delay: float = 0.0
    status: int = 0
    size: int = 0


class HangGate:
    """Where hung requests wait: until their time runs out or :meth:`release` lets them go."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._generation = 0
        self._held = 0

    @property
    def held(self) -> int:
        """How many requests are being held now."""
        with self._condition:
            return self._held

    def hold(self, seconds: float) -> None:
        """Block the calling request thread for ``seconds`` or until the next release."""
        with self._condition:
            generation = self._generation
            self._held += 1
            try:
                self._condition.wait_for(lambda: self._generation != generation, timeout=seconds)
            finally:
                self._held -= 1

    def release(self) -> int:
        """Let every held request go; how many there were."""
        with self._condition:
            released = self._held
            self._generation += 1
            self._condition.notify_all()
            return released


class FaultInjector:
    """Draws the fault, if any, for each request of each vendor."""

    def __init__(self, profile: dict[str, VendorFaults], seed: int) -> None:
        self.profile = profile
        self._seed = seed
        self._lock = threading.Lock()
        self._rngs = self._make_rngs()
        self.hangs = HangGate()

    def _make_rngs(self) -> dict[str, random.Random]:
        return {v: random.Random(self._seed * 1_000_003 + zlib.crc32(v.encode())) for v in VENDORS}

    def set_profile(self, profile: dict[str, VendorFaults]) -> None:
        """Swap the profile at run time; the draws restart from the seed."""
        with self._lock:
            self.profile = profile
            self._rngs = self._make_rngs()

    def draw(self, vendor: str) -> Fault:
        """The fault for the next request to ``vendor``."""
        faults = self.profile[vendor]
        with self._lock:
            rng = self._rngs[vendor]
            delay = 0.0
            if faults.latency_probability and rng.random() < faults.latency_probability:
                delay = rng.uniform(faults.latency_min_ms, faults.latency_max_ms) / 1000
            roll = rng.random()
        for kind, probability in (
            ("hang", faults.hang_probability),
            ("drop", faults.drop_connection),
            ("rate_limit", faults.rate_limit_burst),
            ("truncated_json", faults.truncated_json),
            ("malformed_json", faults.malformed_json),
            ("oversized", faults.oversized_probability),
        ):
            if roll < probability:
                if kind == "hang":
                    return Fault(kind, delay=faults.hang_seconds)
                if kind == "oversized":
                    size = int(faults.oversized_mebibytes * MEBIBYTE)
                    return Fault(kind, delay=delay, size=size)
                return Fault(kind, delay=delay)
            roll -= probability
        for status, probability in sorted(faults.error_rates.items()):
            if roll < probability:
                return Fault("status", delay=delay, status=status)
            roll -= probability
        return Fault(None, delay=delay)
