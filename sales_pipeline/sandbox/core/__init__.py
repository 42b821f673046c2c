"""What every emulated vendor shares: HTTP plumbing, the clock, rate windows, faults, the world.

Nothing here knows a vendor; the vendor packages (``hubspot``, ``explorium``, ``lemlist``)
build on it and :mod:`..server` composes them.
"""
