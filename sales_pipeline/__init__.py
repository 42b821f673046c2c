"""sales_pipeline: HubSpot contacts enriched through Explorium and pushed into Lemlist, on Dagster.

The code location is :mod:`sales_pipeline.definitions` (``dagster ... -m
sales_pipeline.definitions``, or ``workspace.yaml``, which names the location ``sales_pipeline``).
Importing this package loads nothing else, so the layers that must not depend on Dagster
(``clients``, ``sandbox``, ``store``, ...) import without it.
"""
