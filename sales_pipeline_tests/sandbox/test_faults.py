"""Faults that test a client's limits: an answer padded past any sane size, and requests held
until the control plane lets them go (so a test can cancel work while the vendor hangs)."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest
import requests

from sales_pipeline.sandbox import SandboxHandle

MEBIBYTE = 1024 * 1024


def _install(sandbox: SandboxHandle, profile: dict[str, Any] | str) -> None:
    requests.put(
        f"{sandbox.control_url}/faults", json={"profile": profile}, timeout=5
    ).raise_for_status()


def _campaigns(sandbox: SandboxHandle, **kwargs: Any) -> requests.Response:
    auth = ("", sandbox.credentials.lemlist_key)
    return requests.get(f"{sandbox.lemlist_url}/campaigns", auth=auth, timeout=30, **kwargs)


def test_an_oversized_answer_is_the_same_json_padded_to_the_size_asked(
    sandbox: SandboxHandle,
) -> None:
    plain = _campaigns(sandbox).json()
    _install(sandbox, {"lemlist": {"oversized": {"probability": 1.0, "mebibytes": 3}}})
    padded = _campaigns(sandbox)
    assert padded.status_code == 200
    assert int(padded.headers["Content-Length"]) == 3 * MEBIBYTE
    assert len(padded.content) == 3 * MEBIBYTE
    assert json.loads(padded.content) == plain
    stats = requests.get(f"{sandbox.control_url}/stats", timeout=5).json()
    assert stats["lemlist"]["faults_injected"] == {"oversized": 1}


def test_a_client_may_stop_reading_an_oversized_answer_part_way(sandbox: SandboxHandle) -> None:
    _install(sandbox, {"lemlist": {"oversized": {"probability": 1.0, "mebibytes": 64}}})
    with _campaigns(sandbox, stream=True) as answer:
        first = next(answer.iter_content(chunk_size=MEBIBYTE))
    assert len(first) <= MEBIBYTE
    _install(sandbox, "none")
    assert _campaigns(sandbox).status_code == 200


def test_oversized_answers_come_from_a_profile_file(sandbox: SandboxHandle, tmp_path: Path) -> None:
    profile = tmp_path / "big.yaml"
    profile.write_text("lemlist:\n  oversized: {probability: 1.0, mebibytes: 0.5}\n")
    _install(sandbox, str(profile))
    assert len(_campaigns(sandbox).content) == MEBIBYTE // 2
    faults = requests.get(f"{sandbox.control_url}/faults", timeout=5).json()
    assert faults["lemlist"]["oversized"] == {"probability": 1.0, "mebibytes": 0.5}


def test_an_oversized_size_must_be_positive(sandbox: SandboxHandle) -> None:
    answer = requests.put(
        f"{sandbox.control_url}/faults",
        json={"profile": {"lemlist": {"oversized": {"probability": 1.0, "mebibytes": 0}}}},
        timeout=5,
    )
    assert answer.status_code == 400


def _held(sandbox: SandboxHandle) -> int:
    held: int = requests.get(f"{sandbox.control_url}/hangs", timeout=5).json()["held"]
    return held


def _wait_until_held(sandbox: SandboxHandle, count: int) -> None:
    """Poll the control plane until ``count`` requests are held (a readiness wait, no timing)."""
    for _ in range(500):
        if _held(sandbox) >= count:
            return
        threading.Event().wait(0.01)
    pytest.fail(f"{count} requests were never held")


def _call_in_background(sandbox: SandboxHandle, errors: list[BaseException]) -> threading.Thread:
    """Start one campaigns request on a thread; what it raises lands in ``errors``."""

    def call() -> None:
        try:
            _campaigns(sandbox)
        except requests.RequestException as error:
            errors.append(error)

    caller = threading.Thread(target=call)
    caller.start()
    return caller


def test_a_hang_holds_the_request_until_the_control_plane_releases_it(
    sandbox: SandboxHandle,
) -> None:
    _install(sandbox, {"lemlist": {"hang": {"probability": 1.0, "seconds": 3600}}})
    errors: list[BaseException] = []
    callers = [_call_in_background(sandbox, errors) for _ in range(2)]
    _wait_until_held(sandbox, 2)
    assert all(caller.is_alive() for caller in callers)
    released = requests.post(f"{sandbox.control_url}/hangs/release", timeout=5).json()
    assert released == {"released": 2}
    for caller in callers:
        caller.join(timeout=30)
    assert not any(caller.is_alive() for caller in callers)
    assert [type(error) for error in errors] == [requests.ConnectionError] * 2
    assert _held(sandbox) == 0


def test_a_reset_lets_held_requests_go(sandbox: SandboxHandle) -> None:
    _install(sandbox, {"lemlist": {"hang": {"probability": 1.0, "seconds": 3600}}})
    errors: list[BaseException] = []
    caller = _call_in_background(sandbox, errors)
    _wait_until_held(sandbox, 1)
    requests.post(f"{sandbox.control_url}/reset", timeout=5).raise_for_status()
    caller.join(timeout=30)
    assert not caller.is_alive()
    assert [type(error) for error in errors] == [requests.ConnectionError]
    assert _held(sandbox) == 0
