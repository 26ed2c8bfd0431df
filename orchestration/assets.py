"""The non-dbt steps of a cycle: land files as raw tables, mirror the marts to DynamoDB, archive."""

from datetime import UTC, datetime

import dagster as dg
from dagster_dbt import get_asset_key_for_model

from export.archive import move_applied_files
from export.dynamodb import kpi_tables, sync_table
from export.kpis import read_mart
from export.report import read_report
from ingestion.entities import ENTITIES
from ingestion.landing import list_landed
from ingestion.raw_tables import LEDGER_TABLE, Cycle, ingest_landing, ledger_entries_for
from orchestration.conventions import OWNERS, SERVICE_RETRIES
from orchestration.dbt import dbt_models
from orchestration.failures import service_boundary
from orchestration.metadata import accounting_metadata
from orchestration.resources import EcomResource

RAW_KEYS = {name: dg.AssetKey(["raw", name]) for name in ENTITIES}
LEDGER_KEY = dg.AssetKey(LEDGER_TABLE.split("."))

landing_zone = [
    dg.AssetSpec(
        ["landing", name],
        group_name="landing",
        kinds={"s3"},
        owners=OWNERS,
        description=(
            f"Files producers upload under landing/{name}/ in the bucket (.csv or .csv.gz, any sub-path). "
            "The landing sensor notices them; a cycle moves each to archive/ or errors/."
        ),
    )
    for name in ENTITIES
]


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            key,
            deps=[["landing", name]],
            group_name="raw",
            kinds={"s3", "spark", "delta"},
            owners=OWNERS,
            description=f"Every accepted row of landing/{name}/ files, values as text, with lineage.",
        )
        for name, key in RAW_KEYS.items()
    ]
    + [
        dg.AssetSpec(
            LEDGER_KEY,
            deps=[spec.key for spec in landing_zone],
            group_name="raw",
            kinds={"spark", "delta"},
            owners=OWNERS,
            description="The file ledger: every landed object a cycle applied, accepted or rejected.",
        )
    ],
    retry_policy=SERVICE_RETRIES,
)
def raw_tables(context: dg.AssetExecutionContext, ecom: EcomResource):
    """Read every landed file not yet applied, straight from S3, into the raw tables and the ledger."""
    settings = ecom.settings()
    with service_boundary(settings.spark_remote):
        result = ingest_landing(
            ecom.spark(), ecom.s3(), settings.bucket, Cycle(context.run_id, datetime.now(UTC))
        )
    context.log.info(
        f"{len(result.accepted)} file(s) accepted, {len(result.rejected)} rejected, "
        f"rows {result.rows_by_entity} in {result.seconds:.1f}s"
    )
    for name, key in RAW_KEYS.items():
        files = [i.obj.key for i in result.accepted if i.obj.entity_name == name]
        yield dg.MaterializeResult(
            asset_key=key,
            metadata={
                "files": len(files),
                "rows_appended": result.rows_by_entity[name],
                "seconds": round(result.seconds, 2),
            },
        )
    yield dg.MaterializeResult(
        asset_key=LEDGER_KEY,
        metadata={
            "files_accepted": len(result.accepted),
            "files_rejected": len(result.rejected),
            "rejections": dg.MetadataValue.md(
                "\n".join(f"- {i.rejection.detail}" for i in result.rejected) or "none"
            ),
            "seconds": round(result.seconds, 2),
        },
    )


@dg.asset(
    deps=[get_asset_key_for_model([dbt_models], mart) for mart in ("category_kpis", "order_kpis")],
    group_name="serving",
    kinds={"dynamodb"},
    owners=OWNERS,
    retry_policy=SERVICE_RETRIES,
)
def dynamodb_kpis(context: dg.AssetExecutionContext, ecom: EcomResource) -> dg.MaterializeResult:
    """The KPI marts mirrored into DynamoDB: new and changed rows written, keys no longer in the mart
    deleted, unchanged rows left alone. It compares the whole marts with the whole tables, so after a
    backfill of some dates it re-exports exactly the rows the backfill changed.

    Not partitioned, unlike the marts: Dagster (1.13) cannot run an asset partitioned like its upstream
    in a run that has no partition, and every cycle the sensor starts is such a run."""
    settings = ecom.settings()
    spark, client = ecom.spark(), ecom.dynamodb()
    metadata = {}
    for table in kpi_tables(settings.category_kpi_table, settings.order_kpi_table):
        with service_boundary(settings.spark_remote):
            result = sync_table(client, table, read_mart(spark, table))
        context.log.info(
            f"{table.name}: {result.written} written, {result.unchanged} unchanged, "
            f"{result.deleted} deleted ({result.items_per_second:.0f} items/s)"
        )
        metadata[f"{table.name}_written"] = result.written
        metadata[f"{table.name}_unchanged"] = result.unchanged
        metadata[f"{table.name}_deleted"] = result.deleted
        metadata[f"{table.name}_items_per_second"] = round(result.items_per_second)
        metadata[f"{table.name}_seconds"] = round(result.seconds, 2)
    return dg.MaterializeResult(metadata=metadata)


@dg.asset(
    deps=[dynamodb_kpis],
    group_name="serving",
    kinds={"s3"},
    owners=OWNERS,
    retry_policy=SERVICE_RETRIES,
)
def archived_files(context: dg.AssetExecutionContext, ecom: EcomResource) -> dg.MaterializeResult:
    """Applied files moved out of landing/ once the marts and DynamoDB hold their rows."""
    settings = ecom.settings()
    s3, spark = ecom.s3(), ecom.spark()
    with service_boundary(settings.spark_remote):
        entries = ledger_entries_for(spark, list_landed(s3, settings.bucket))
        moved = move_applied_files(s3, settings.bucket, entries)
        report = read_report(spark)
    context.log.info(f"{moved['archived']} file(s) archived, {moved['errored']} moved to errors/")
    return dg.MaterializeResult(metadata={**moved, **accounting_metadata(report)})
