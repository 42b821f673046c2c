"""A faithful local emulation of the HubSpot, Explorium and Lemlist APIs.

It imports nothing from the rest of ``sales_pipeline``, so the clients can never agree with it
by sharing code. Start it with ``sales-pipeline sandbox`` or, in-process, :func:`run_sandbox`.
"""

from .core.vendor import Credentials, SandboxOptions
from .server import Sandbox, SandboxAddress, SandboxConfig, SandboxHandle, run_sandbox, serve

__all__ = [
    "Credentials",
    "Sandbox",
    "SandboxAddress",
    "SandboxConfig",
    "SandboxHandle",
    "SandboxOptions",
    "run_sandbox",
    "serve",
]
