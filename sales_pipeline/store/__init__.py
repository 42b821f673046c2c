"""The pipeline's durable state, kept with SQLAlchemy Core in SQLite (default) or PostgreSQL.

:class:`PipelineStore` owns these small tables:

``push_ledger``
    One row per (Lemlist campaign, normalized email): the exactly-once record of pushes. A push is
    *claimed* by an atomic insert before the request is sent and *settled* with its outcome after.
``enrichment_cache``
    Explorium answers per normalized email, matched or not, reused until they are ``enrichment_ttl``
    old, so a contact costs credits at most once per TTL.
``entity_cache``
    Explorium answers per entity (contact information and profile by prospect, business match by
    domain, firmographics by business) under the same TTL, so a business's firmographics are
    bought once per TTL across chunks, runs and partitions
    (:mod:`sales_pipeline.store.entity_cache`).
``quarantine``
    Records a stage refused, with the field, the reason and a masked copy of the record.
``suppression``
    Emails and whole ``@domain`` entries that must never be contacted, with where they came from.
``oauth_token`` / ``sync_cursor``
    Small key-value tables for the HubSpot OAuth token and the sensors' cursors.
``engagement_queue``
    Lemlist engagement waiting to be written to HubSpot (:mod:`sales_pipeline.store.engagement`).
``asset_frame``
    Each asset partition's output DataFrame, written by the pipeline's IO manager, so that a
    step running in another process or on another machine reads what the previous one wrote.

The schema is created and upgraded by :data:`MIGRATIONS`, an ordered list of steps recorded in
``schema_version``. :func:`apply_migrations` runs the missing steps in one transaction that holds
a database-wide lock (a PostgreSQL advisory lock, SQLite's write lock), so processes that start
together apply each step exactly once. A change to a table is a new step with its own DDL.

The store takes a database URL and reads no environment. A ``postgresql://`` URL without a driver
uses psycopg2, whichever driver SQLAlchemy would prefer (2.1 prefers psycopg 3). SQLite databases
run in WAL mode and open every transaction with ``BEGIN IMMEDIATE``, so concurrent writers queue
on SQLite's lock (for up to :data:`SQLITE_BUSY_TIMEOUT_SECONDS`) instead of failing half way.
"""
