"""The ``/_sandbox`` control plane: health, stats, state, reset, faults, limits, clock."""

from __future__ import annotations

import json
from pathlib import Path

import requests

from sales_pipeline.sandbox import SandboxHandle


def test_health_names_every_vendor(sandbox: SandboxHandle) -> None:
    answer = requests.get(f"{sandbox.control_url}/health", timeout=5)
    assert answer.status_code == 200
    assert answer.json()["status"] == "ok"
    assert answer.json()["vendors"] == ["explorium", "hubspot", "lemlist"]


def test_stats_count_requests_per_vendor_endpoint_and_status(sandbox: SandboxHandle) -> None:
    requests.get(f"{sandbox.hubspot_url}/no/such/path", timeout=5)
    stats = requests.get(f"{sandbox.control_url}/stats", timeout=5).json()
    assert stats["hubspot"]["requests"] == 1
    assert stats["hubspot"]["by_endpoint"] == {"unknown": {"404": 1}}
    assert stats["lemlist"]["requests"] == 0
    assert set(stats["hubspot"]) >= {"rate_limited", "faults_injected"}


def test_reset_clears_the_stats(sandbox: SandboxHandle) -> None:
    requests.get(f"{sandbox.hubspot_url}/no/such/path", timeout=5)
    requests.post(f"{sandbox.control_url}/reset", timeout=5).raise_for_status()
    stats = requests.get(f"{sandbox.control_url}/stats", timeout=5).json()
    assert stats["hubspot"]["requests"] == 0


def test_state_can_be_asked_for_one_vendor(sandbox: SandboxHandle) -> None:
    state = requests.get(f"{sandbox.control_url}/state?vendor=lemlist", timeout=5).json()
    assert list(state) == ["lemlist"]


def test_faults_switch_to_a_built_in_profile_and_back(sandbox: SandboxHandle) -> None:
    harsh = requests.put(f"{sandbox.control_url}/faults", json={"profile": "harsh"}, timeout=5)
    assert harsh.json()["explorium"]["error_rates"]["503"] > 0
    none = requests.put(f"{sandbox.control_url}/faults", json={"profile": "none"}, timeout=5)
    assert none.json()["explorium"]["error_rates"] == {}


def test_faults_load_a_profile_file(sandbox: SandboxHandle, tmp_path: Path) -> None:
    profile = tmp_path / "drill.json"
    profile.write_text(json.dumps({"lemlist": {"error_rates": {"503": 0.5}}}))
    answer = requests.put(
        f"{sandbox.control_url}/faults", json={"profile": str(profile)}, timeout=5
    ).json()
    assert answer["lemlist"]["error_rates"] == {"503": 0.5}
    assert answer["hubspot"]["error_rates"] == {}


def test_an_unknown_fault_key_is_refused(sandbox: SandboxHandle) -> None:
    answer = requests.put(
        f"{sandbox.control_url}/faults", json={"hubspot": {"eror_rates": {}}}, timeout=5
    )
    assert answer.status_code == 400
    assert "eror_rates" in answer.json()["error"]


def test_limits_switch_off_and_scale(sandbox: SandboxHandle) -> None:
    answer = requests.put(
        f"{sandbox.control_url}/limits", json={"enabled": False, "rate_scale": 2.5}, timeout=5
    ).json()
    assert answer["enabled"] is False
    assert answer["rate_scale"] == 2.5
    bad = requests.put(f"{sandbox.control_url}/limits", json={"rate_scale": 0}, timeout=5)
    assert bad.status_code == 400


def test_clock_moves_forward(sandbox: SandboxHandle) -> None:
    before = sandbox.sandbox.clock.now()
    answer = requests.post(
        f"{sandbox.control_url}/clock", json={"advance_seconds": 3600}, timeout=5
    ).json()
    assert answer["now"] >= before + 3600


def test_unknown_control_endpoint_is_404(sandbox: SandboxHandle) -> None:
    answer = requests.get(f"{sandbox.control_url}/nope", timeout=5)
    assert answer.status_code == 404
