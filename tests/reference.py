"""An independent oracle of the data contract, in plain Python: no Spark, no dbt, exact Fractions.

It reads the delivered files the way the contract describes them (RFC 4180, BOM, gzip, header case,
trimmed values, every timestamp form) and computes the current state, the accounting and both KPI tables,
for valid input. The pipeline's outputs are compared with it.
"""

from __future__ import annotations

import csv
import gzip
import io
import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from fractions import Fraction
from math import floor
from pathlib import Path

KEYS = {"orders": "order_id", "order_items": "id", "products": "id"}
TIMESTAMP = re.compile(
    r"^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))? ?(UTC|Z|[+-]\d{2}:?\d{2})?$"
)


def read_rows(path: Path) -> list[dict[str, str | None]]:
    data = path.read_bytes()
    if path.name.endswith(".gz"):
        data = gzip.decompress(data)
    reader = csv.reader(io.StringIO(data.decode("utf-8-sig"), newline=""))
    header = [name.strip().lower() for name in next(reader)]
    rows = []
    for values in reader:
        if not values:
            continue
        rows.append({name: (value.strip() or None) for name, value in zip(header, values, strict=True)})
    return rows


def parse_timestamp(text: str) -> datetime:
    match = TIMESTAMP.match(text)
    assert match, f"not a contract timestamp: {text!r}"
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


def expected_outputs(deliveries: list[Path]) -> Expected:
    """Deliveries in cycle order; each is a folder of <entity>/ files, applied in key order."""
    received: dict[str, int] = defaultdict(int)
    current: dict[str, dict[str, dict]] = defaultdict(dict)
    for delivery in deliveries:
        for entity, key in KEYS.items():
            for path in sorted((delivery / entity).glob("*")):
                for row in read_rows(path):
                    received[entity] += 1
                    current[entity][row[key]] = row
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
            "rejected": 0,
            "superseded": received[entity] - len(current[entity]),
            "current": len(current[entity]),
        }
        for entity in KEYS
    }
    accounting["order_items"]["pending"] = pending
    return Expected(_category_kpis(counted), _order_kpis(counted), accounting)


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
