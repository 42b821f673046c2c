"""The demo's runs belong to the `lead_pipeline` job of the `sales_pipeline` code location."""

from pathlib import Path

from dagster import AssetKey, AssetRecordsFilter, DagsterInstance, DagsterRunStatus, RunsFilter
from dagster._core.instance.ref import InstanceRef

from sales_pipeline.cli.demo import recent_partitions, run_pipeline
from sales_pipeline.sandbox import SandboxConfig, run_sandbox

REPOSITORY_LABEL = "__repository__@sales_pipeline"
"""How Dagster labels the code location's repository; the job's page lists the runs of the job
that carry this label in the `.dagster/repository` tag (what its GraphQL `runs` field asks)."""


def test_a_demo_run_is_listed_on_the_jobs_page_and_in_the_assets_partition_history(
    tmp_path: Path,
) -> None:
    day = recent_partitions(2)[0]
    with run_sandbox(SandboxConfig(contacts=600)) as sandbox:
        summary = run_pipeline(sandbox, tmp_path, [day], out=lambda _: None)
    assert summary["failed_partitions"] == []

    instance_ref = InstanceRef.from_dir(str(tmp_path / "dagster"))
    with DagsterInstance.from_ref(instance_ref) as instance:
        job_page = instance.get_runs(
            RunsFilter(job_name="lead_pipeline", tags={".dagster/repository": REPOSITORY_LABEL})
        )
        materializations = instance.fetch_materializations(
            AssetRecordsFilter(asset_key=AssetKey("lemlist_leads"), asset_partitions=[day]),
            limit=1,
        ).records

    (run,) = job_page
    assert run.status == DagsterRunStatus.SUCCESS
    assert run.tags["dagster/partition"] == day
    assert run.remote_job_origin is not None
    assert run.remote_job_origin.location_name == "sales_pipeline"
    assert [record.run_id for record in materializations] == [run.run_id]
