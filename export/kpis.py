"""Read the KPI rows back, from the Delta marts or from DynamoDB, in one shape for the CLI and the tests."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from export.dynamodb import KpiTable, scan_items

KpiRows = dict[str, list[dict[str, Any]]]


def read_mart(spark, table: KpiTable) -> list[dict[str, Any]]:
    """The mart's rows as dicts with exact Decimals and ISO dates, ordered by key."""
    rows = [row.asDict() for row in spark.table(table.mart).collect()]
    return _ordered(table, [_normalized(table, row) for row in rows])


def read_dynamodb(client, table: KpiTable) -> list[dict[str, Any]]:
    rows = [_normalized(table, item) for item in scan_items(client, table.name)]
    return _ordered(table, rows)


def filtered(rows: list[dict[str, Any]], on_date: str | None, category: str | None) -> list[dict[str, Any]]:
    return [
        row
        for row in rows
        if (on_date is None or row["order_date"] == on_date)
        and (category is None or row.get("category", category) == category)
    ]


def _normalized(table: KpiTable, row: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key in table.keys:
        value = row[key]
        result[key] = value.isoformat() if isinstance(value, date) else str(value)
    for column, scale in table.scales.items():
        value = Decimal(row[column])
        result[column] = int(value) if scale == 0 else value.quantize(Decimal(1).scaleb(-scale))
    return result


def _ordered(table: KpiTable, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(rows, key=lambda row: tuple(row[key] for key in table.keys))
