"""Names and policies every Dagster definition of the project shares."""

import dagster as dg

# Steps that talk to S3 and DynamoDB ride out short outages and throttling: 3 more tries over ~15 s.
# Each step is idempotent (see docs/design.md), so a retry repeats no work twice.
SERVICE_RETRIES = dg.RetryPolicy(max_retries=3, delay=2, backoff=dg.Backoff.EXPONENTIAL)

# The jobs an operator launches: a cycle (the sensor, `ecom run`), a backfill of order dates (`ecom
# backfill`) and a rebuild of every model from the raw tables (`ecom rebuild`).
CYCLE_JOB = "ecom_cycle"
BACKFILL_JOB = "kpi_backfill"
REBUILD_JOB = "marts_rebuild"

# A cycle that runs longer than this is stuck: run monitoring fails it and the next one starts.
CYCLE_MAX_RUNTIME_SECONDS = 3600

# The KPI marts are partitioned by order date (UTC), one partition a day, so the UI can backfill a range of
# dates. The first partition is theLook's first order date and the last is today; a team with older history
# sets an earlier start.
ORDER_DATES = dg.DailyPartitionsDefinition(start_date="2019-01-01", end_offset=1)

# Who answers for the assets, shown in the asset UI; the team adopting the project sets its own.
OWNERS = ["team:data-platform"]

# What an operator calls each step of a cycle (notices, the `ecom run` summary).
STAGES = {
    "raw_tables": "ingestion",
    "dbt_models": "dbt build",
    "marts_keep_up_with_landing": "freshness check",
    "dynamodb_kpis": "export",
    "archived_files": "archive",
}
