"""The sandbox clock: wall-clock time that the control plane can move forward."""

from __future__ import annotations

import time


class Clock:
    """Wall-clock time that tests can move forward (to expire OAuth tokens, say).

    ``now()`` is epoch seconds plus an offset set through ``/_sandbox/clock``. Rate windows use
    :func:`time.monotonic` instead, so advancing the clock never resets a limit.
    """

    def __init__(self) -> None:
        self._offset = 0.0

    def now(self) -> float:
        """Epoch seconds as the sandbox sees them."""
        return time.time() + self._offset

    def advance(self, seconds: float) -> None:
        """Move the sandbox's time forward by ``seconds``."""
        self._offset += seconds

    def reset(self) -> None:
        """Back to real time."""
        self._offset = 0.0
