"""The production shape on this machine, for tests: a throwaway PostgreSQL database, a Dagster
home with the production instance file, and the environment an operator sets for the daemon and
every worker (README, "Production deployment on PostgreSQL")."""

import contextlib
import os
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from sales_pipeline_tests.pipeline.conftest import PipelineWorld

REPO = Path(__file__).resolve().parents[1]
POSTGRES_SERVER = "postgresql://postgres@127.0.0.1:5432"
INSTANCE_SETTINGS = (
    "DAGSTER_PG_HOST",
    "DAGSTER_PG_PORT",
    "DAGSTER_PG_USERNAME",
    "DAGSTER_PG_PASSWORD",
    "DAGSTER_PG_DB",
)
"""What deploy/dagster.production.yaml reads from the environment."""


@contextlib.contextmanager
def throwaway_database(prefix: str) -> Iterator[str]:
    """The URL of a new database ``<prefix>_<hex>`` on the local server, dropped on exit."""
    name = f"{prefix}_{secrets.token_hex(4)}"
    admin = sa.create_engine(f"{POSTGRES_SERVER}/test", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield f"{POSTGRES_SERVER}/{name}"
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def production_dagster_home(folder: Path) -> Path:
    """``folder`` made a Dagster home whose dagster.yaml is deploy/dagster.production.yaml."""
    folder.mkdir(parents=True)
    shutil.copy(REPO / "deploy" / "dagster.production.yaml", folder / "dagster.yaml")
    return folder


def deployment_environment(
    world: PipelineWorld, database: str, dagster_home: Path
) -> dict[str, str]:
    """The environment of the daemon and of every worker: the instance, the store and the
    limiter all in ``database``, and the vendors at ``world``'s sandbox."""
    creds = world.sandbox.credentials
    return {
        **os.environ,
        "DAGSTER_HOME": str(dagster_home),
        "DAGSTER_PG_HOST": "127.0.0.1",
        "DAGSTER_PG_PORT": "5432",
        "DAGSTER_PG_USERNAME": "postgres",
        "DAGSTER_PG_PASSWORD": "",
        "DAGSTER_PG_DB": database.rpartition("/")[2],
        "SALES_PIPELINE_HOME": str(world.home),
        "SALES_PIPELINE_DATABASE_URL": database,
        "HUBSPOT_BASE_URL": world.sandbox.hubspot_url,
        "HUBSPOT_ACCESS_TOKEN": creds.hubspot_token,
        "EXPLORIUM_BASE_URL": world.sandbox.explorium_url,
        "EXPLORIUM_API_KEY": creds.explorium_key,
        "LEMLIST_BASE_URL": world.sandbox.lemlist_url,
        "LEMLIST_API_KEY": creds.lemlist_key,
    }


def open_instance_here(monkeypatch: pytest.MonkeyPatch, environment: dict[str, str]) -> None:
    """Let this process open the instance of ``environment`` (its PostgreSQL settings)."""
    for name in INSTANCE_SETTINGS:
        monkeypatch.setenv(name, environment[name])
