"""The metadata helpers: every outcome present, rounded figures, schemas, masked samples."""

import pandas as pd
from dagster import (
    AssetsDefinition,
    DagsterInstance,
    Output,
    StaticPartitionsDefinition,
    TableSchema,
    asset,
    materialize,
)

from sales_pipeline.defs.assets._metadata import (
    breakdown_table,
    column_schema,
    counts_metadata,
    own_columns,
    rounded,
    sample_metadata,
    table_metadata,
)
from sales_pipeline.defs.assets.writeback import funnel_table, latest_counts
from sales_pipeline.domain.outcomes import EnrichmentStatus, PushOutcome
from sales_pipeline.transforms.schemas import EnrichedContacts, NormalizedContacts


def test_every_outcome_of_the_enum_is_counted_with_zero_when_absent() -> None:
    metadata = counts_metadata({"enriched": 3, "contacts": 4}, [EnrichmentStatus])

    values = {key: entry.value for key, entry in metadata.items()}
    assert values == {"enriched": 3, "unmatched": 0, "deferred": 0, "cached": 0, "contacts": 4}


def test_figures_are_rounded_to_two_decimals() -> None:
    assert rounded(0.7913130235430093).value == 0.79


def test_the_column_schema_comes_from_the_pandera_model() -> None:
    frame = pd.DataFrame({"email": ["a@b.co"]})

    metadata = table_metadata(frame, NormalizedContacts)

    assert metadata["dagster/row_count"].value == 1
    schema = metadata["dagster/column_schema"].value
    assert isinstance(schema, TableSchema)
    email = next(column for column in schema.columns if column.name == "email")
    assert email.constraints.nullable is False
    assert [c.name for c in schema.columns] == [
        c.name for c in column_schema(NormalizedContacts).columns
    ]


def test_without_a_model_the_schema_is_the_frames_columns() -> None:
    frame = pd.DataFrame({"email": ["a@b.co"], "outcome": ["written"]})

    schema = table_metadata(frame)["dagster/column_schema"].value

    assert isinstance(schema, TableSchema)
    assert [(c.name, c.type) for c in schema.columns] == [
        ("email", "str"),
        ("outcome", "str"),
    ]


def test_a_stages_own_columns_are_those_it_adds_to_its_input() -> None:
    added = own_columns(EnrichedContacts, NormalizedContacts)

    assert "confidence" in added
    assert "enrichment_status" in added
    assert "hubspot_id" not in added


def test_the_sample_leads_with_the_email_and_the_stages_columns_and_masks_people() -> None:
    frame = pd.DataFrame(
        {
            "hubspot_id": ["1"],
            "first_name": ["José"],
            "email": ["jose.garcia@example.com"],
            "icp_score": [0.8],
        }
    )

    text = str(sample_metadata(frame, ["icp_score"])["sample"].value)

    header = text.splitlines()[0]
    assert header.index("email") < header.index("icp_score") < header.index("hubspot_id")
    assert "j***@e***.com" in text
    assert "J***" in text
    assert "jose.garcia" not in text
    assert "José" not in text


def test_the_campaign_table_has_every_outcome_column_and_a_total() -> None:
    frame = pd.DataFrame(
        {"campaign_id": ["cam_a", "cam_a", "cam_b"], "result": ["added", "rejected", "added"]}
    )
    columns = [PushOutcome.ADDED.value, PushOutcome.REJECTED.value, PushOutcome.GIVEN_UP.value]

    text = str(breakdown_table(frame, "campaign_id", "result", columns).value)

    lines = [line.replace(" ", "") for line in text.splitlines()]
    assert lines[0] == "|campaign_id|added|rejected|given_up|total|"
    assert "|cam_a|1|1|0|2|" in lines
    assert "|cam_b|1|0|0|1|" in lines


DAY = "2026-11-30"
ONE_DAY = StaticPartitionsDefinition([DAY, "2026-12-01"])


def _stage(name: str, counts: dict[str, int]) -> AssetsDefinition:
    """An asset named like a pipeline stage that records ``counts`` for its partition."""

    @asset(name=name, partitions_def=ONE_DAY)
    def stage() -> Output[int]:
        return Output(0, metadata=counts)

    return stage


def test_the_funnel_reads_each_stages_latest_materialization_of_the_day() -> None:
    stages = [
        _stage("hubspot_contacts", {"fetched": 40, "valid": 38}),
        _stage("enriched_contacts", {"enriched": 20, "cached": 10, "unmatched": 8}),
        _stage("qualified_leads", {"qualified": 12}),
        _stage("lemlist_leads", {"added": 9}),
    ]
    with DagsterInstance.ephemeral() as instance:
        assert materialize(stages, instance=instance, partition_key=DAY).success

        text = str(funnel_table(instance, DAY, written_back=30).value)
        other_day = latest_counts(instance, "lemlist_leads", "2026-12-01")

    rows = [line.replace(" ", "") for line in text.splitlines()[2:]]
    assert rows == [
        "|pulled|40|100%|",
        "|valid|38|95%|",
        "|enriched|30|75%|",
        "|qualified|12|30%|",
        "|pushed|9|22%|",
        "|writtenback|30|75%|",
    ]
    assert other_day == {}
