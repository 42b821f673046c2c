"""Failed runs, each with the redacted summary the failure alert built."""

from collections.abc import Mapping
from typing import Any

from sales_pipeline.store.engine import dialect_insert, reading, utc_now
from sales_pipeline.store.pipeline_store import PipelineStore
from sales_pipeline.store.tables import run_failure


class RunFailureLog:
    """The ``run_failure`` table in the pipeline store's database."""

    def __init__(self, store: PipelineStore) -> None:
        """Use ``store``'s database."""
        self._engine = store.engine

    def record(self, run_id: str, summary: Mapping[str, Any]) -> None:
        """Keep (or replace) the summary of the failed run ``run_id``."""
        row = {"run_id": run_id, "summary": dict(summary), "recorded_at": utc_now()}
        with self._engine.begin() as conn:
            insert = dialect_insert(conn, run_failure).values(row)
            conn.execute(
                insert.on_conflict_do_update(
                    index_elements=["run_id"],
                    set_={
                        "summary": insert.excluded.summary,
                        "recorded_at": insert.excluded.recorded_at,
                    },
                )
            )

    def get(self, run_id: str) -> dict[str, Any] | None:
        """The summary recorded for ``run_id``, if any."""
        with reading(self._engine) as conn:
            summary = conn.scalar(
                run_failure.select()
                .with_only_columns(run_failure.c.summary)
                .where(run_failure.c.run_id == run_id)
            )
        return None if summary is None else dict(summary)
