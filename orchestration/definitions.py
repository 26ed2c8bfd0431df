"""The single Dagster code location: assets, the cycle, backfill and rebuild jobs, the landing sensor and
resources."""

from __future__ import annotations

import dagster as dg

from orchestration.assets import archived_files, dynamodb_kpis, landing_zone, raw_tables
from orchestration.checks import freshness_job, freshness_schedule, marts_keep_up_with_landing
from orchestration.conventions import BACKFILL_JOB, CYCLE_JOB, CYCLE_MAX_RUNTIME_SECONDS, REBUILD_JOB
from orchestration.dbt import KPI_MARTS, DbtCli, dbt_models
from orchestration.dbt_project import DBT_EXECUTABLE, dbt_project
from orchestration.notifications import build_notification_sensors
from orchestration.resources import EcomResource
from orchestration.sensors import build_landing_sensor

CYCLE_TAG = "ecom/cycle"

cycle_job = dg.define_asset_job(
    CYCLE_JOB,
    selection=dg.AssetSelection.all() - dg.AssetSelection.assets(*(spec.key for spec in landing_zone)),
    description="One full cycle: ingest landing/, dbt build, export to DynamoDB, archive.",
    tags={CYCLE_TAG: "true", "dagster/max_runtime": str(CYCLE_MAX_RUNTIME_SECONDS)},
    # The steps run one after another anyway; one process spares each step a process start and a
    # fresh load of the code location and the dbt manifest.
    executor_def=dg.in_process_executor,
)

rebuild_job = dg.define_asset_job(
    REBUILD_JOB,
    selection=dg.AssetSelection.assets(*dbt_models.keys, *dynamodb_kpis.keys),
    description=(
        "Rebuild every model from the raw tables and re-export the marts, without ingesting or "
        "archiving (`ecom rebuild`): in the Launchpad set ops.dbt_models.config.full_refresh to true and "
        "launch without a partition. Left false, it builds what changed, like a cycle."
    ),
    tags={"dagster/max_runtime": str(CYCLE_MAX_RUNTIME_SECONDS)},
    executor_def=dg.in_process_executor,
)

backfill_job = dg.define_asset_job(
    BACKFILL_JOB,
    selection=dg.AssetSelection.assets(*KPI_MARTS, *dynamodb_kpis.keys),
    description=(
        "Rebuild the KPI marts' rows of a range of order dates from the current-state tables and "
        "re-export the marts (`ecom backfill`). In the UI: Materialize all, pick the dates, Launch backfill."
    ),
    tags={"dagster/max_runtime": str(CYCLE_MAX_RUNTIME_SECONDS)},
    executor_def=dg.in_process_executor,
)

defs = dg.Definitions(
    assets=[*landing_zone, raw_tables, dbt_models, dynamodb_kpis, archived_files],
    asset_checks=[marts_keep_up_with_landing],
    jobs=[cycle_job, rebuild_job, backfill_job, freshness_job],
    schedules=[freshness_schedule],
    sensors=[build_landing_sensor(cycle_job), *build_notification_sensors(cycle_job)],
    resources={
        "ecom": EcomResource(),
        # The dbt next to this interpreter, so a run works without the virtualenv on PATH.
        "dbt": DbtCli(project_dir=dbt_project, dbt_executable=DBT_EXECUTABLE),
    },
)
