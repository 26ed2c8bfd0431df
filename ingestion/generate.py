"""theLook-shaped sample deliveries that exercise every input form the contract allows.

Files of one delivery differ on purpose: plain LF, CRLF with a byte-order mark, gzip; header case and
column order vary, an extra column appears, optional columns are sometimes absent; timestamps rotate
through every accepted form and zone; product names carry commas, quotes and line breaks. Later
deliveries add orders and update earlier ones (returns, cancellations, a product changing category),
and some items arrive one delivery before their order. Within one delivery a key appears at most once.
"""

from __future__ import annotations

import csv
import gzip
import io
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

from ingestion.entities import ENTITIES

CATEGORIES = ["Jeans", "Tops & Tees", "Outerwear & Coats", "Accessories", "Socks", "Swim", "Sleep & Lounge"]
BRANDS = ["Levi's", "Carhartt", 'The "North" Face', "Columbia, Inc.", "", "Hanes"]
START = datetime(2025, 3, 1, tzinfo=UTC)
ZONES = [None, "UTC", "Z", "+05:30", "-0400", " +01:00", " Z", "+0000"]


@dataclass
class World:
    """The generator's view of the source system: every entity's latest rows, keyed by id."""

    rng: random.Random
    plain: bool = False
    products: dict[str, dict] = field(default_factory=dict)
    orders: dict[str, dict] = field(default_factory=dict)
    items: dict[str, dict] = field(default_factory=dict)
    next_order: int = 1
    next_item: int = 1

    def any_product(self) -> dict:
        """A random product; the list is cached because products are all added before any order."""
        if len(self._product_list) != len(self.products):
            self._product_list = list(self.products.values())
        return self.rng.choice(self._product_list)

    _product_list: list[dict] = field(default_factory=list)


def generate_delivery(out: Path, orders: int = 1000, seed: int = 42, plain: bool = False) -> list[Path]:
    """One self-contained delivery: products, orders and their items under out/{entity}/. `plain` writes
    every file as the simplest reader expects (LF, the full header, UTC timestamps, no padding): what the
    benchmark's baselines read."""
    world = World(random.Random(seed), plain=plain)
    _add_products(world, max(20, orders // 4))
    new_orders = _add_orders(world, orders)
    return _write_delivery(
        world,
        Path(out),
        products=list(world.products.values()),
        orders=new_orders,
        items=[
            item for item in world.items.values() if item["order_id"] in {o["order_id"] for o in new_orders}
        ],
    )


def generate_deliveries(
    out: Path,
    orders: int = 300,
    seed: int = 42,
    count: int = 3,
    shares: tuple[float, ...] | None = None,
    updated_share: float = 0.1,
    plain: bool = False,
) -> list[Path]:
    """`count` deliveries under out/delivery-NN/, each meant for its own cycle, in order. `shares` splits
    the orders unevenly (a large history, then a small delivery); each later delivery also updates
    `updated_share` of the earlier delivered orders. `plain` as for generate_delivery."""
    world = World(random.Random(seed), plain=plain)
    _add_products(world, max(20, orders // 4))
    held_back: list[dict] = []
    directories = []
    shares = shares or (1 / count,) * count
    count = len(shares)
    for number, share in enumerate(shares, start=1):
        new_orders = _add_orders(world, round(orders * share))
        new_ids = {o["order_id"] for o in new_orders}
        items = [item for item in world.items.values() if item["order_id"] in new_ids]
        if number < count:
            held_back_now = new_orders[-3:]  # these orders come next time; their items arrive now
            new_orders = new_orders[:-3]
        else:
            held_back_now = []
        excluded = new_ids | {o["order_id"] for o in held_back}
        updates = _update_earlier(world, excluded, updated_share) if number > 1 else []
        products = list(world.products.values()) if number == 1 else _move_a_product(world)
        directory = Path(out) / f"delivery-{number:02d}"
        _write_delivery(
            world,
            directory,
            products=products,
            orders=new_orders + held_back + [u for u in updates if "num_of_item" in u],
            items=items + [u for u in updates if "sale_price" in u],
        )
        held_back = held_back_now
        directories.append(directory)
    return directories


def _add_products(world: World, count: int) -> None:
    rng = world.rng
    for number in range(1, count + 1):
        cost = Decimal(rng.randint(200, 9000)) / 100
        name = rng.choice(["Slim Fit Jeans", 'Crew "Classic" Tee', "Wool Coat, Long", "Sock Pack\n3 pairs"])
        world.products[str(number)] = {
            "id": str(number),
            "cost": str(cost),
            "category": rng.choice(CATEGORIES),
            "name": f"{name} #{number}",
            "brand": rng.choice(BRANDS),
            "retail_price": str((cost * Decimal("2.1")).quantize(Decimal("0.0000000000001"))),
            "department": rng.choice(["Men", "Women"]),
            "sku": f"SKU{number:06d}",
            "distribution_center_id": str(rng.randint(1, 10)),
        }


def _add_orders(world: World, count: int) -> list[dict]:
    rng = world.rng
    created = []
    for _ in range(count):
        order_id = str(world.next_order)
        world.next_order += 1
        created_at = START + timedelta(seconds=rng.randint(0, 20 * 86400))
        status = rng.choices(
            ["delivered", "returned", "shipped", "complete", "cancelled", "processing", "pending"],
            weights=[40, 12, 12, 10, 8, 10, 8],
        )[0]
        shipped = (
            created_at + timedelta(hours=rng.randint(1, 48))
            if status not in ("processing", "pending")
            else None
        )
        delivered = (
            shipped + timedelta(hours=rng.randint(1, 96))
            if shipped and status in ("delivered", "returned", "complete")
            else None
        )
        returned = (
            delivered + timedelta(days=rng.randint(1, 9)) if delivered and status == "returned" else None
        )
        item_count = rng.randint(1, 4)
        order = {
            "order_id": order_id,
            "user_id": str(rng.randint(1, max(2, count // 2))),
            "status": status,
            "gender": rng.choice(["M", "F"]),
            "created_at": created_at,
            "returned_at": returned,
            "shipped_at": shipped,
            "delivered_at": delivered,
            "num_of_item": str(item_count),
        }
        world.orders[order_id] = order
        created.append(order)
        for _ in range(item_count):
            _add_item(world, order)
    return created


def _add_item(world: World, order: dict) -> None:
    rng = world.rng
    product = world.any_product()
    item_id = str(world.next_item)
    world.next_item += 1
    partial_return = order["status"] == "returned" and rng.random() < 0.4
    world.items[item_id] = {
        "id": item_id,
        "order_id": order["order_id"],
        "user_id": order["user_id"],
        "product_id": product["id"],
        "inventory_item_id": str(rng.randint(1, 10**6)),
        "status": "delivered" if partial_return else order["status"],
        "created_at": order["created_at"] + timedelta(minutes=rng.randint(0, 50)),
        "shipped_at": order["shipped_at"],
        "delivered_at": order["delivered_at"],
        "returned_at": None if partial_return else order["returned_at"],
        "sale_price": str(
            (Decimal(product["retail_price"]) * Decimal(rng.choice(["1", "0.9", "0.75"]))).normalize()
        ),
    }


def _update_earlier(world: World, exclude: set[str], share: float) -> list[dict]:
    """Status changes of earlier orders and their items: returns and cancellations."""
    rng = world.rng
    candidates = [
        o for o in world.orders.values() if o["order_id"] not in exclude and o["status"] == "delivered"
    ]
    items_of: dict[str, list[dict]] = {}
    for item in world.items.values():
        items_of.setdefault(item["order_id"], []).append(item)
    updates = []
    for order in rng.sample(candidates, min(len(candidates), max(2, int(len(candidates) * share)))):
        order["status"] = rng.choice(["returned", "cancelled"])
        if order["status"] == "returned":
            order["returned_at"] = order["delivered_at"] + timedelta(days=3)
        updates.append(order)
        for item in items_of.get(order["order_id"], []):
            item["status"] = order["status"]
            item["returned_at"] = order["returned_at"]
            updates.append(item)
    return updates


def _move_a_product(world: World) -> list[dict]:
    product = world.rng.choice(list(world.products.values()))
    product["category"] = next(c for c in CATEGORIES if c != product["category"])
    return [product]


def _write_delivery(world: World, directory: Path, products: list, orders: list, items: list) -> list[Path]:
    written = []
    for entity_name, rows, parts in (
        ("products", products, 1),
        ("orders", orders, 3),
        ("order_items", items, 4),
    ):
        target = directory / entity_name
        target.mkdir(parents=True, exist_ok=True)
        columns = list(ENTITIES[entity_name].columns)
        for part in range(parts):
            chunk = rows[part::parts]
            if not chunk:
                continue
            style = 0 if world.plain else part
            written.append(_write_file(world, target, entity_name, part, style, columns, chunk))
    return written


def _write_file(
    world: World, target: Path, entity: str, part: int, style: int, columns: list[str], rows: list
) -> Path:
    """Style 0: plain LF. 1: CRLF + BOM, Title Case header, shuffled columns plus an extra one.
    2: gzip. 3: upper-case header without the optional columns that may be absent."""
    header = list(columns)
    rng = world.rng
    if style == 1:
        rng.shuffle(header)
        header.append("notes")
    if style == 3:
        header = [c for c in header if c in ENTITIES[entity].required or c in ("created_at", "shipped_at")]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n" if style == 1 else "\n")
    shown = [c.title() if style == 1 else c.upper() if style == 3 else c for c in header]
    writer.writerow([f"  {name} " if style == 3 else name for name in shown])
    for row in rows:
        writer.writerow([_render(world, row.get(column, "free text, with comma")) for column in header])
    text = ("\ufeff" if style == 1 else "") + buffer.getvalue()
    suffix = ".csv.gz" if style == 2 else ".csv"
    path = target / f"{entity}_part{part + 1}{suffix}"
    data = text.encode("utf-8")
    path.write_bytes(gzip.compress(data, mtime=0) if style == 2 else data)
    return path


def _render(world: World, value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S") if world.plain else _timestamp_text(world.rng, value)
    return str(value) if world.plain or world.rng.random() >= 0.05 else f" {value} "


def _timestamp_text(rng: random.Random, instant: datetime) -> str:
    """The same UTC instant written in one of the accepted forms, wall clock shifted to the zone shown."""
    zone = rng.choice(ZONES)
    offset = timedelta(0)
    if zone and zone.strip() not in ("UTC", "Z"):
        sign = -1 if zone.strip()[0] == "-" else 1
        digits = zone.strip()[1:].replace(":", "")
        offset = sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
    local = instant.astimezone(timezone(offset))
    separator = rng.choice([" ", "T"])
    fraction = rng.choice(["", ".5", ".123456", ".123456789"])
    text = local.strftime(f"%Y-%m-%d{separator}%H:%M:%S") + fraction
    return text + (zone or "")
