"""The ``sales_pipeline`` code location with its jobs' steps sent to Celery workers.

Every job that names no executor of its own (``lead_pipeline``, ``engagement_writeback`` and
the asset jobs of backfills) runs on ``dagster_celery.celery_executor``; the broker, result
backend and queue come from the run config's ``execution: config:`` block
(``deploy/celery.yaml``). Assets, checks, jobs and resources are those of ``sales_pipeline``
as loaded, unchanged.
"""

from dagster import Definitions
from dagster_celery import celery_executor

import sales_pipeline

defs = Definitions.merge(sales_pipeline.defs, Definitions(executor=celery_executor))
