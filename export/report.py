"""The accounting of the data contract: per entity received = rejected + superseded + current, and files;
plus why rows and files were rejected, in the last cycle and in total."""

from __future__ import annotations

from typing import Any

from ingestion.raw_tables import LEDGER_TABLE

ACCOUNTING_MART = "marts.pipeline_accounting"
REJECTED_ROWS = "quarantine.rejected_rows"
PENDING_ITEMS = "quarantine.order_items_pending"


def read_report(spark) -> dict[str, Any]:
    """Exactly the shape `ecom report --format json` promises."""
    entities: dict[str, dict[str, int]] = {}
    for row in spark.table(ACCOUNTING_MART).orderBy("entity").collect():
        figures = {name: int(row[name]) for name in ("received", "rejected", "superseded", "current")}
        if row["pending"] is not None:
            figures["pending"] = int(row["pending"])
        entities[row["entity"]] = figures
    outcomes = {
        row["outcome"]: row["count"] for row in spark.table(LEDGER_TABLE).groupBy("outcome").count().collect()
    }
    return {
        "entities": entities,
        "files": {"archived": int(outcomes.get("accepted", 0)), "errored": int(outcomes.get("rejected", 0))},
    }


def read_rejections(spark) -> list[dict[str, Any]]:
    """Rejections by entity and reason code, rows and whole files, in the latest cycle and in total."""
    from pyspark.sql import functions as F

    latest = spark.table(LEDGER_TABLE).orderBy(F.desc("ingested_at")).select("cycle_id").limit(1).collect()
    cycle = latest[0]["cycle_id"] if latest else ""
    rows = spark.table(REJECTED_ROWS).select(
        "entity", F.lit("row").alias("level"), F.explode("rejection_reasons").alias("reason"), "cycle_id"
    )
    files = (
        spark.table(LEDGER_TABLE)
        .where(F.col("outcome") == "rejected")
        .select("entity", F.lit("file").alias("level"), "reason", "cycle_id")
    )
    counts = (
        rows.unionByName(files)
        .groupBy("level", "entity", "reason")
        .agg(F.count_if(F.col("cycle_id") == cycle).alias("last_cycle"), F.count("*").alias("total"))
        .orderBy("level", "entity", "reason")
    )
    return [row.asDict() for row in counts.collect()]


def pending_by_cause(spark) -> dict[str, int]:
    """Pending order items by what they wait for (order, product, order_and_product)."""
    counts = spark.table(PENDING_ITEMS).groupBy("waiting_for").count().collect()
    return {row["waiting_for"]: int(row["count"]) for row in counts}


def newest_rows(spark, table: str, keys: tuple[str, ...], limit: int) -> list[dict[str, Any]]:
    """The rows of the latest order dates, newest first: what an operator glances at after a cycle."""
    from pyspark.sql import functions as F

    others = [key for key in keys if key != "order_date"]
    rows = spark.table(table).orderBy(F.desc("order_date"), *others).limit(limit).collect()
    return [row.asDict() for row in rows]
