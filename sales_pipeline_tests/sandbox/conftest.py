"""Fixtures: one sandbox for the session, reset before each test that asks for it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from sales_pipeline.sandbox import SandboxConfig, SandboxHandle, run_sandbox
from sales_pipeline_tests.contracts.judges import JUDGES, Judge
from sales_pipeline_tests.contracts.vendor_documents import specs_dir


@pytest.fixture(scope="session")
def shared_sandbox() -> Iterator[SandboxHandle]:
    """A sandbox with a small world (2,000 contacts) shared by the whole session."""
    with run_sandbox(SandboxConfig(contacts=2000)) as handle:
        yield handle


@pytest.fixture
def sandbox(shared_sandbox: SandboxHandle) -> SandboxHandle:
    """The shared sandbox, reset to its initial state, faults off and limits on."""
    requests.post(f"{shared_sandbox.control_url}/reset", timeout=10).raise_for_status()
    requests.put(f"{shared_sandbox.control_url}/faults", json={"profile": "none"}, timeout=10)
    requests.put(
        f"{shared_sandbox.control_url}/limits",
        json={"enabled": True, "rate_scale": 1.0},
        timeout=10,
    )
    return shared_sandbox


@pytest.fixture(params=sorted(JUDGES))
def contract(request: pytest.FixtureRequest) -> Judge:
    """Each contract test runs twice: against the project's own schemas, and against the vendor's
    full document (skipped, with one reason, where ``../shared/specs`` is not there)."""
    if request.param == "vendor-documents":
        specs_dir()
    judge: Judge = JUDGES[request.param]
    return judge
