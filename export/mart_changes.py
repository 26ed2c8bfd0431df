"""Which order dates a cycle recomputed in a KPI mart, from the mart's Delta history and change data feed:
a cycle runs without a partition, and the orchestration reports these dates as the partitions it
materialized."""

from __future__ import annotations

# What a cycle's dbt build does to a KPI mart: a MERGE (which also deletes the rows of dates left without
# counted items) and the post-hook's property. Anything else (a first build, a rebuild) may change any date.
INCREMENTAL_OPERATIONS = {"MERGE", "SET TBLPROPERTIES"}
RECENT_VERSIONS = 10


def order_dates_recomputed(spark, table: str, since: int | None) -> list[str]:
    """The order dates (YYYY-MM-DD) whose rows a KPI mart rewrote or deleted after version `since`, from
    its change data feed: a cycle tells Dagster these are the mart's partitions it materialized. Every
    date the mart holds when it did not exist at `since`, or was built again since (its change feed then
    tells nothing about dates), or has no change feed (a mart built before it had one, until `ecom
    rebuild`)."""
    # A cycle adds at most two versions (merge, property); history beyond is not read.
    history = spark.sql(f"DESCRIBE HISTORY {table} LIMIT {RECENT_VERSIONS}").collect()
    newer = [row for row in history if since is None or row["version"] > since]
    if not newer:
        return []
    readable_feed = (
        since is not None
        and len(newer) < len(history)
        and {row["operation"] for row in newer} <= INCREMENTAL_OPERATIONS
        and _has_change_feed(spark, table)
    )
    if readable_feed:
        query = f"SELECT DISTINCT order_date FROM table_changes('{table}', {since + 1})"
    else:
        query = f"SELECT DISTINCT order_date FROM {table}"
    return sorted(row["order_date"].isoformat() for row in spark.sql(query).collect())


def _has_change_feed(spark, table: str) -> bool:
    rows = spark.sql(f"SHOW TBLPROPERTIES {table} ('delta.enableChangeDataFeed')").collect()
    return bool(rows) and rows[0]["value"] == "true"
