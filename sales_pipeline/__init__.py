"""sales_pipeline: HubSpot contacts enriched through Explorium and pushed into Lemlist, on Dagster.

``dagster ... -m sales_pipeline`` finds the code location's ``defs`` here. It is loaded on first
access only, so importing a layer that must not depend on Dagster (``sales_pipeline.clients``,
``sales_pipeline.sandbox``) does not load Dagster or the definitions.
"""

from typing import Any


def __getattr__(name: str) -> Any:
    """``defs``, imported from :mod:`sales_pipeline.definitions` when first asked for."""
    if name == "defs":
        from sales_pipeline.definitions import defs

        return defs
    raise AttributeError(f"module 'sales_pipeline' has no attribute {name!r}")


def __dir__() -> list[str]:
    """The module's names, ``defs`` included, so Dagster's module loader finds it."""
    return sorted({*globals(), "defs"})
