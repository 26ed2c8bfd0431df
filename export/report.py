"""The accounting of the data contract: per entity received = rejected + superseded + current, and files."""

from __future__ import annotations

from typing import Any

from ingestion.raw_tables import LEDGER_TABLE

ACCOUNTING_MART = "marts.pipeline_accounting"


def read_report(spark) -> dict[str, Any]:
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
