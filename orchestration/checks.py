"""Freshness of the marts against the landing zone: a landed file that no cycle has applied for too long
means the sensor is off, cycles keep failing, or one is stuck. Runs after every cycle and on a schedule."""

from datetime import UTC, datetime

import dagster as dg

from ingestion.landing import LandedObject, list_landed
from ingestion.raw_tables import ensure_raw_tables, not_yet_applied
from orchestration.failures import service_boundary
from orchestration.resources import EcomResource

MART_KEYS = [dg.AssetKey(["marts", "category_kpis"]), dg.AssetKey(["marts", "order_kpis"])]
CHECK_NAME = "keeps_up_with_landing"


@dg.multi_asset_check(
    specs=[
        dg.AssetCheckSpec(
            CHECK_NAME,
            asset=key,
            description=(
                "Warns when a file has waited in landing/ without being applied for longer than "
                "max_landing_lag_minutes (EcomResource, default 30)."
            ),
        )
        for key in MART_KEYS
    ],
)
def marts_keep_up_with_landing(context: dg.AssetCheckExecutionContext, ecom: EcomResource):
    settings = ecom.settings()
    with service_boundary(settings.spark_remote):
        spark = ecom.spark()
        ensure_raw_tables(spark)
        waiting = not_yet_applied(spark, list_landed(ecom.s3(), settings.bucket))
    lag = landing_lag_minutes(waiting, datetime.now(UTC))
    oldest = min(waiting, key=lambda obj: (obj.last_modified, obj.key)) if waiting else None
    context.log.info(f"{len(waiting)} file(s) waiting in landing/, lag {lag:.1f} min")
    for key in MART_KEYS:
        yield dg.AssetCheckResult(
            asset_key=key,
            check_name=CHECK_NAME,
            passed=lag <= ecom.max_landing_lag_minutes,
            severity=dg.AssetCheckSeverity.WARN,
            metadata={
                "files_waiting": len(waiting),
                "lag_minutes": round(lag, 1),
                "max_landing_lag_minutes": ecom.max_landing_lag_minutes,
                "oldest_waiting": oldest.key if oldest else "none",
            },
        )


def landing_lag_minutes(waiting: list[LandedObject], now: datetime) -> float:
    if not waiting:
        return 0.0
    return (now - min(obj.last_modified for obj in waiting)).total_seconds() / 60


freshness_job = dg.define_asset_job(
    "marts_freshness",
    selection=dg.AssetSelection.checks(marts_keep_up_with_landing),
    description="Only the freshness check of the marts against landing/: reads, never writes.",
)

freshness_schedule = dg.ScheduleDefinition(
    job=freshness_job,
    cron_schedule="*/15 * * * *",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Every 15 minutes, whether or not cycles run, say if the marts lag landing/.",
)
