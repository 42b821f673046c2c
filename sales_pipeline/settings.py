"""Where the pipeline keeps its local state, and the defaults derived from it.

Everything here is read from the environment at call time, so a code location reload or a new
run sees changed values without a restart of anything else.
"""

from __future__ import annotations

import os
from pathlib import Path

HOME_ENV = "SALES_PIPELINE_HOME"
DATABASE_URL_ENV = "SALES_PIPELINE_DATABASE_URL"
RATE_LIMIT_URL_ENV = "SALES_PIPELINE_RATE_LIMIT_URL"


def pipeline_home() -> Path:
    """The local state folder: ``SALES_PIPELINE_HOME``, default ``./.sales_pipeline_home``."""
    return Path(os.environ.get(HOME_ENV) or ".sales_pipeline_home").resolve()


def default_database_url() -> str:
    """The store: ``SALES_PIPELINE_DATABASE_URL``, else a SQLite file in the pipeline home."""
    return os.environ.get(DATABASE_URL_ENV) or f"sqlite:///{pipeline_home() / 'store.sqlite'}"


def default_rate_limit_url() -> str:
    """The rate limiter's shared backend: ``SALES_PIPELINE_RATE_LIMIT_URL``, else the store's
    PostgreSQL when the store is on PostgreSQL, else a SQLite file in the pipeline home (shared
    by every process on this machine, which Dagster's multiprocess executor needs)."""
    explicit = os.environ.get(RATE_LIMIT_URL_ENV)
    if explicit:
        return explicit
    store = os.environ.get(DATABASE_URL_ENV, "")
    if store.startswith("postgresql"):
        return store
    return f"sqlite:///{pipeline_home() / 'ratelimit.sqlite'}"
