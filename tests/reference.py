"""An independent oracle of the data contract, in plain Python: no Spark, no dbt, exact Fractions.

It reads the delivered files the way the contract describes them (RFC 4180, BOM, gzip, header case,
trimmed values, every timestamp form), applies its validation rules (whole files and rows), and computes
the current state, the accounting, both KPI tables and each current order's counted items and value
(as marts.fct_orders holds them). The pipeline's outputs are compared with it.
"""

from __future__ import annotations

import csv
import gzip
import io
import re
import zlib
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from fractions import Fraction
from math import floor
from pathlib import Path

KEYS = {"orders": "order_id", "order_items": "id", "products": "id"}
REQUIRED = {
    "orders": ("order_id", "user_id", "status", "created_at"),
    "order_items": ("id", "order_id", "product_id", "status", "sale_price"),
    "products": ("id", "category"),
}
TIMESTAMPS = ("created_at", "shipped_at", "delivered_at", "returned_at")
MONEY = {"order_items": ("sale_price",), "products": ("cost", "retail_price")}
MONEY_LIMIT = Decimal(10) ** 16  # the KPI marts' money is decimal(18, 2)
DYNAMODB_PARTITION_KEY_BYTES = 2048  # the category is category_kpi_table's partition key
STATUSES = {"pending", "processing", "shipped", "delivered", "complete", "cancelled", "returned"}
TIMESTAMP = re.compile(
    r"^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))? ?(UTC|Z|[+-](?:[01]\d|2[0-3]):?[0-5]\d)?$",
    re.ASCII,  # as Java's \d: the digits 0-9 only
)
NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$", re.ASCII)
INTEGER = re.compile(r"^[+-]?\d{1,18}$", re.ASCII)


@dataclass
class FileVerdict:
    """A file's rows with their line numbers, or the reason the whole file is refused."""

    rows: list[tuple[int, list[str]]]
    header: list[str]
    rejection: str | None = None


def read_file(path: Path, entity: str) -> FileVerdict:
    if not path.name.lower().endswith((".csv", ".csv.gz")):
        return FileVerdict([], [], "unsupported_file_type")
    data = path.read_bytes()
    try:
        text = (gzip.decompress(data) if path.name.lower().endswith(".gz") else data).decode("utf-8-sig")
    except (OSError, EOFError, UnicodeDecodeError, zlib.error):
        return FileVerdict([], [], "undecodable")
    reader = csv.reader(io.StringIO(text, newline=""))
    header = [name.strip().lower() for name in next(reader, [])]
    if not any(header):
        return FileVerdict([], [], "empty_file")
    if any(column not in header for column in REQUIRED[entity]):
        return FileVerdict([], header, "missing_required_columns")
    rows = []
    while True:
        line = reader.line_num + 1
        values = next(reader, None)
        if values is None:
            return FileVerdict(rows, header)
        if values:
            rows.append((line, values))


def read_rows(path: Path) -> list[dict[str, str | None]]:
    """The rows of a valid file as trimmed values by column name (empty means None)."""
    entity = path.parent.name
    verdict = read_file(path, entity)
    return [_named(verdict.header, values) for _, values in verdict.rows]


def _named(header: list[str], values: list[str]) -> dict[str, str | None]:
    named: dict[str, str | None] = {}
    for name, value in zip(header, values, strict=False):
        named.setdefault(name, value.strip() or None)
    return named


def rejection_reasons(entity: str, header: list[str], values: list[str]) -> list[str]:
    if len(values) != len(header):
        return ["field_count_mismatch"]
    row = _named(header, values)
    reasons = [f"missing_{column}" for column in REQUIRED[entity] if row.get(column) is None]
    times = {}
    for column in TIMESTAMPS if entity != "products" else ():
        if row.get(column) is not None:
            times[column] = timestamp_or_none(row[column])
            if times[column] is None:
                reasons.append(f"unparseable_{column}")
    for column in MONEY.get(entity, ()):
        text = row.get(column)
        if text is not None and not (
            NUMBER.match(text) and round_half_up(abs(Fraction(Decimal(text))), 2) < MONEY_LIMIT
        ):
            reasons.append(f"unparseable_{column}")
        elif text is not None and Decimal(text) < 0:
            reasons.append(f"negative_{column}")
    if entity == "products" and len((row.get("category") or "").encode()) > DYNAMODB_PARTITION_KEY_BYTES:
        reasons.append("too_long_category")
    if entity == "orders" and row.get("num_of_item") is not None and not INTEGER.match(row["num_of_item"]):
        reasons.append("unparseable_num_of_item")
    if entity != "products" and row.get("status") is not None and row["status"].lower() not in STATUSES:
        reasons.append("invalid_status")
    for later, earlier, reason in (
        ("shipped_at", "created_at", "shipped_before_created"),
        ("delivered_at", "shipped_at", "delivered_before_shipped"),
        ("returned_at", "delivered_at", "returned_before_delivered"),
    ):
        if times.get(later) is not None and times.get(earlier) is not None and times[later] < times[earlier]:
            reasons.append(reason)
    return reasons


def timestamp_or_none(text: str) -> datetime | None:
    try:
        return parse_timestamp(text)
    except (AssertionError, ValueError, OverflowError):  # OverflowError: in UTC, outside the years 1-9999
        return None


def parse_timestamp(text: str) -> datetime:
    match = TIMESTAMP.match(text)
    if not match:
        raise ValueError(f"not a contract timestamp: {text!r}")
    day, clock, fraction, zone = match.groups()
    micros = int((fraction or "").ljust(6, "0")[:6])
    offset = timedelta(0)
    if zone and zone not in ("UTC", "Z"):
        digits = zone[1:].replace(":", "")
        offset = (-1 if zone[0] == "-" else 1) * timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
    local = datetime.fromisoformat(f"{day}T{clock}").replace(microsecond=micros, tzinfo=timezone(offset))
    return local.astimezone(UTC)


def round_half_up(value: Fraction, places: int) -> Decimal:
    scaled = value * 10**places
    return Decimal(floor(scaled + Fraction(1, 2))).scaleb(-places)


@dataclass
class Expected:
    category_kpis: list[dict]
    order_kpis: list[dict]
    accounting: dict[str, dict[str, int]]
    files: dict[str, int]
    order_values: dict[str, tuple[int, Decimal]]
    """Every current order: (its counted items, their sale prices' sum rounded half-up), as fct_orders."""

    @property
    def kpis(self) -> tuple[list[dict], list[dict]]:
        """(category_kpis, order_kpis), as the tests' Pipeline.kpis reads them back."""
        return self.category_kpis, self.order_kpis


def expected_outputs(deliveries: list[Path]) -> Expected:
    """Deliveries in cycle order; each is a folder of <entity>/ files, applied in key order."""
    received: dict[str, int] = defaultdict(int)
    rejected: dict[str, int] = defaultdict(int)
    valid: dict[str, int] = defaultdict(int)
    current: dict[str, dict[str, dict]] = defaultdict(dict)
    files = {"archived": 0, "errored": 0}
    for delivery in deliveries:
        for path in sorted(
            (p for p in delivery.rglob("*") if p.is_file()), key=lambda p: p.relative_to(delivery).as_posix()
        ):
            entity = path.relative_to(delivery).parts[0]
            verdict = read_file(path, entity) if entity in KEYS else FileVerdict([], [], "unknown_entity")
            files["errored" if verdict.rejection else "archived"] += 1
            for _, values in verdict.rows:
                received[entity] += 1
                if rejection_reasons(entity, verdict.header, values):
                    rejected[entity] += 1
                    continue
                valid[entity] += 1
                row = _named(verdict.header, values)
                current[entity][row[KEYS[entity]]] = row
    orders, items, products = current["orders"], current["order_items"], current["products"]
    counted = []
    pending = 0
    for item in items.values():
        order, product = orders.get(item["order_id"]), products.get(item["product_id"])
        if order is None or product is None:
            pending += 1
            continue
        if "cancelled" in (order["status"].lower(), item["status"].lower()):
            continue
        counted.append((item, order, product))
    accounting = {
        entity: {
            "received": received[entity],
            "rejected": rejected[entity],
            "superseded": valid[entity] - len(current[entity]),
            "current": len(current[entity]),
        }
        for entity in KEYS
    }
    accounting["order_items"]["pending"] = pending
    return Expected(
        _category_kpis(counted), _order_kpis(counted), accounting, files, _order_values(orders, counted)
    )


def _order_values(orders: dict[str, dict], counted: list) -> dict[str, tuple[int, Decimal]]:
    items_by_order: dict[str, list[dict]] = {order_id: [] for order_id in orders}
    for item, order, _ in counted:
        items_by_order[order["order_id"]].append(item)
    return {
        order_id: (len(items), round_half_up(sum(Fraction(Decimal(item["sale_price"])) for item in items), 2))
        for order_id, items in items_by_order.items()
    }


def _order_kpis(counted: list) -> list[dict]:
    by_day: dict[str, list] = defaultdict(list)
    for item, order, _ in counted:
        by_day[_order_date(order)].append((item, order))
    rows = []
    for day, entries in sorted(by_day.items()):
        revenue = sum(Fraction(Decimal(item["sale_price"])) for item, _ in entries)
        orders = {order["order_id"]: order for _, order in entries}
        returned = sum(1 for order in orders.values() if order["status"].lower() == "returned")
        rows.append(
            {
                "order_date": day,
                "total_orders": len(orders),
                "total_revenue": round_half_up(revenue, 2),
                "total_items_sold": len(entries),
                "return_rate": round_half_up(Fraction(returned, len(orders)), 4),
                "unique_customers": len({order["user_id"] for order in orders.values()}),
                "avg_order_value": round_half_up(revenue / len(orders), 2),
            }
        )
    return rows


def _category_kpis(counted: list) -> list[dict]:
    groups: dict[tuple[str, str], list] = defaultdict(list)
    for item, order, product in counted:
        groups[(product["category"], _order_date(order))].append((item, order))
    rows = []
    for (category, day), entries in sorted(groups.items()):
        revenue = sum(Fraction(Decimal(item["sale_price"])) for item, _ in entries)
        orders = {order["order_id"]: order for _, order in entries}
        returned = sum(1 for order in orders.values() if order["status"].lower() == "returned")
        rows.append(
            {
                "category": category,
                "order_date": day,
                "daily_revenue": round_half_up(revenue, 2),
                "avg_order_value": round_half_up(revenue / len(orders), 2),
                "avg_return_rate": round_half_up(Fraction(returned, len(orders)), 4),
                "orders": len(orders),
                "items_sold": len(entries),
            }
        )
    return rows


def _order_date(order: dict) -> str:
    return parse_timestamp(order["created_at"]).date().isoformat()
