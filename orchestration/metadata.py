"""What an operator looks for on a materialization: figures as numbers (the UI plots them across runs) and
small Markdown tables (newest KPI rows, rejections by reason)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import dagster as dg

from export.dynamodb import kpi_tables
from export.report import REJECTED_ROWS, newest_rows, pending_by_cause, read_rejections

PREVIEW_ROWS = 10
KPI_TABLES_BY_MART = {table.mart: table for table in kpi_tables("category_kpi_table", "order_kpi_table")}


def model_metadata(spark, key: dg.AssetKey) -> dict[str, Any]:
    """Extra metadata for the dbt models an operator reads after a cycle; none for the others."""
    table = ".".join(key.path)
    if table in KPI_TABLES_BY_MART:
        rows = newest_rows(spark, table, KPI_TABLES_BY_MART[table].keys, PREVIEW_ROWS)
        return {"newest_rows": dg.MetadataValue.md(markdown_table(rows))}
    if table == REJECTED_ROWS:
        return rejection_metadata(read_rejections(spark))
    if table == "quarantine.order_items_pending":
        pending = pending_by_cause(spark)
        return {"pending": sum(pending.values()), **{f"pending_for_{k}": v for k, v in pending.items()}}
    return {}


def rejection_metadata(rejections: list[dict[str, Any]]) -> dict[str, Any]:
    """Rejected rows and files of the latest cycle as numbers, and every reason as a table."""
    last_cycle = {
        level: sum(r["last_cycle"] for r in rejections if r["level"] == level) for level in ("row", "file")
    }
    return {
        "rows_rejected_last_cycle": last_cycle["row"],
        "files_rejected_last_cycle": last_cycle["file"],
        "rejections_by_reason": dg.MetadataValue.md(
            markdown_table(rejections) if rejections else "no rejections"
        ),
    }


def accounting_metadata(report: Mapping[str, Any]) -> dict[str, Any]:
    """The contract's accounting as one number per entity and figure, so the UI plots it across cycles."""
    return {
        f"{entity}_{figure}": value
        for entity, figures in report["entities"].items()
        for figure, value in figures.items()
    }


def markdown_table(rows: Sequence[Mapping[str, Any]]) -> str:
    if not rows:
        return "(no rows)"
    columns = list(rows[0])
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(_cell(row[c]) for c in columns) + " |" for row in rows]
    return "\n".join(lines)


def _cell(value: Any) -> str:
    return "" if value is None else str(value).replace("|", "\\|")
