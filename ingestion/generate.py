"""theLook-shaped sample deliveries that exercise every input form the contract allows.

Files of one delivery differ on purpose: plain LF, CRLF with a byte-order mark, gzip; header case and
column order vary, an extra column appears, optional columns are sometimes absent; timestamps rotate
through every accepted form and zone; product names carry commas, quotes and line breaks. Later
deliveries add orders and update earlier ones (returns, cancellations, a product changing category),
and some items arrive one delivery before their order. Within one delivery a key appears at most once.

Rows are written as they are made, and memory holds a few bytes per product and order (10M order items
take about 130 MB): each product, and each order with its items, comes from a random generator seeded
with its number, so an earlier one is made again, not kept, when a later delivery updates it.
"""

from __future__ import annotations

import csv
import gzip
import io
import random
from array import array
from collections.abc import Iterable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any, NamedTuple, TextIO

from ingestion.entities import ENTITIES

CATEGORIES = ["Jeans", "Tops & Tees", "Outerwear & Coats", "Accessories", "Socks", "Swim", "Sleep & Lounge"]
BRANDS = ["Levi's", "Carhartt", 'The "North" Face', "Columbia, Inc.", "", "Hanes"]
START = datetime(2025, 3, 1, tzinfo=UTC)
ZONES = [None, "UTC", "Z", "+05:30", "-0400", " +01:00", " Z", "+0000"]
PARTS = {"products": 1, "orders": 3, "order_items": 4}
HELD_BACK = 3  # the last orders of a delivery that is not the last come one delivery after their items


@dataclass
class World:
    """The generator's view of the source system, in a few bytes per product and order: the products'
    costs (an item's price follows from its product's) and moves, each order's first item id, which orders
    are still delivered (the ones a later delivery may return or cancel) and which were updated already.
    The rest of a product's or order's rows is made again from its number whenever it is needed."""

    rng: random.Random
    seed: int
    users: int
    plain: bool = False
    product_cents: array[int] = field(default_factory=lambda: array("l"))
    moved: dict[int, str] = field(default_factory=dict)
    first_item: array[int] = field(default_factory=lambda: array("q"))
    delivered: array[int] = field(default_factory=lambda: array("q"))
    updated: set[int] = field(default_factory=set)
    next_item: int = 1

    @classmethod
    def new(cls, seed: int, orders: int, plain: bool) -> World:
        """A world of `orders // 4` products (at least 20) and `orders // 2` customers, before any order."""
        world = cls(random.Random(seed), seed=seed, users=max(2, orders // 2), plain=plain)
        for _ in range(max(20, orders // 4)):
            world.product_cents.append(world.rng.randint(200, 9000))
        return world

    @property
    def next_order(self) -> int:
        return len(self.first_item) + 1


def generate_delivery(out: Path, orders: int = 1000, seed: int = 42, plain: bool = False) -> list[Path]:
    """One self-contained delivery: products, orders and their items under out/{entity}/. `plain` writes
    every file as the simplest reader expects (LF, the full header, UTC timestamps, no padding): what the
    benchmark's baselines read."""
    world = World.new(seed, orders, plain)
    with _DeliveryWriter(world, Path(out)) as delivery:
        delivery.write_all("products", _all_products(world))
        for order, items in _new_orders(world, orders):
            delivery.write("orders", order)
            delivery.write_all("order_items", items)
    return delivery.paths


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
    world = World.new(seed, orders, plain)
    held_back: list[dict] = []
    directories = []
    shares = shares or (1 / count,) * count
    for delivery_number, share in enumerate(shares, start=1):
        directory = Path(out) / f"delivery-{delivery_number:02d}"
        # Orders from here on are this delivery's, or the previous one's held back: none is an update.
        first_new_or_held_back = int(held_back[0]["order_id"]) if held_back else world.next_order
        with _DeliveryWriter(world, directory) as delivery:
            delivery.write_all(
                "products", _all_products(world) if delivery_number == 1 else _move_a_product(world)
            )
            holding: list[dict] = []
            for order, items in _new_orders(world, round(orders * share)):
                holding.append(order)
                if len(holding) > HELD_BACK or delivery_number == len(shares):
                    delivery.write("orders", holding.pop(0))
                delivery.write_all("order_items", items)
            delivery.write_all("orders", held_back)
            if delivery_number > 1:
                for order, items in _update_earlier(world, first_new_or_held_back, updated_share):
                    delivery.write("orders", order)
                    delivery.write_all("order_items", items)
        held_back = holding
        directories.append(directory)
    return directories


def _all_products(world: World) -> Iterator[dict]:
    for number in range(1, len(world.product_cents) + 1):
        yield _product(world, number)


def _product(world: World, number: int) -> dict:
    """Product `number` as it is now: as first made, in the category of its latest move."""
    rng = random.Random(f"{world.seed}/product/{number}")
    cents = world.product_cents[number - 1]
    name = rng.choice(["Slim Fit Jeans", 'Crew "Classic" Tee', "Wool Coat, Long", "Sock Pack\n3 pairs"])
    category = rng.choice(CATEGORIES)
    return {
        "id": str(number),
        "cost": str(Decimal(cents) / 100),
        "category": world.moved.get(number, category),
        "name": f"{name} #{number}",
        "brand": rng.choice(BRANDS),
        "retail_price": str(_retail_price(cents)),
        "department": rng.choice(["Men", "Women"]),
        "sku": f"SKU{number:06d}",
        "distribution_center_id": str(rng.randint(1, 10)),
    }


def _retail_price(cost_cents: int) -> Decimal:
    return (Decimal(cost_cents) / 100 * Decimal("2.1")).quantize(Decimal("0.0000000000001"))


def _new_orders(world: World, count: int) -> Iterator[tuple[dict, list[dict]]]:
    """The next `count` orders with their items, recording what making them again later needs: an order's
    first item id is taken before its items are made."""
    for _ in range(count):
        number = world.next_order
        world.first_item.append(world.next_item)
        order, items = _order_with_items(world, number)
        world.next_item += len(items)
        if order["status"] == "delivered":
            world.delivered.append(number)
        yield order, items


def _order_with_items(world: World, number: int) -> tuple[dict, list[dict]]:
    """Order `number` and its items as first delivered: the same rows every time it is asked for."""
    rng = random.Random(f"{world.seed}/order/{number}")
    created_at = START + timedelta(seconds=rng.randint(0, 20 * 86400))
    status = rng.choices(
        ["delivered", "returned", "shipped", "complete", "cancelled", "processing", "pending"],
        weights=[40, 12, 12, 10, 8, 10, 8],
    )[0]
    shipped_at = (
        created_at + timedelta(hours=rng.randint(1, 48)) if status not in ("processing", "pending") else None
    )
    delivered_at = (
        shipped_at + timedelta(hours=rng.randint(1, 96))
        if shipped_at and status in ("delivered", "returned", "complete")
        else None
    )
    returned_at = (
        delivered_at + timedelta(days=rng.randint(1, 9)) if delivered_at and status == "returned" else None
    )
    item_count = rng.randint(1, 4)
    order = {
        "order_id": str(number),
        "user_id": str(rng.randint(1, world.users)),
        "status": status,
        "gender": rng.choice(["M", "F"]),
        "created_at": created_at,
        "returned_at": returned_at,
        "shipped_at": shipped_at,
        "delivered_at": delivered_at,
        "num_of_item": str(item_count),
    }
    first_item = world.first_item[number - 1]
    return order, [_item(world, rng, order, first_item + offset) for offset in range(item_count)]


def _item(world: World, rng: random.Random, order: dict, item_id: int) -> dict:
    product = rng.randint(1, len(world.product_cents))
    partial_return = order["status"] == "returned" and rng.random() < 0.4
    return {
        "id": str(item_id),
        "order_id": order["order_id"],
        "user_id": order["user_id"],
        "product_id": str(product),
        "inventory_item_id": str(rng.randint(1, 10**6)),
        "status": "delivered" if partial_return else order["status"],
        "created_at": order["created_at"] + timedelta(minutes=rng.randint(0, 50)),
        "shipped_at": order["shipped_at"],
        "delivered_at": order["delivered_at"],
        "returned_at": None if partial_return else order["returned_at"],
        "sale_price": str(
            (
                _retail_price(world.product_cents[product - 1]) * Decimal(rng.choice(["1", "0.9", "0.75"]))
            ).normalize()
        ),
    }


def _update_earlier(world: World, below: int, share: float) -> Iterator[tuple[dict, list[dict]]]:
    """Status changes of earlier orders (numbered below `below`) and their items: returns and
    cancellations, each order at most once."""
    rng = world.rng
    candidates = [n for n in world.delivered if n < below and n not in world.updated]
    for number in rng.sample(candidates, min(len(candidates), max(2, int(len(candidates) * share)))):
        order, items = _order_with_items(world, number)
        order["status"] = rng.choice(["returned", "cancelled"])
        if order["status"] == "returned":
            order["returned_at"] = order["delivered_at"] + timedelta(days=3)
        world.updated.add(number)
        for item in items:
            item["status"] = order["status"]
            item["returned_at"] = order["returned_at"]
        yield order, items


def _move_a_product(world: World) -> list[dict]:
    number = world.rng.randint(1, len(world.product_cents))
    product = _product(world, number)
    product["category"] = world.moved[number] = next(c for c in CATEGORIES if c != product["category"])
    return [product]


class _Part(NamedTuple):
    """An open file of a delivery: its CSV writer and the columns it holds, in their order."""

    path: Path
    writer: Any
    header: list[str]


class _DeliveryWriter:
    """The files of one delivery, written row by row: an entity's rows go to its parts in turn, each part
    in its own style (see _open_part), and a part is created with its first row."""

    def __init__(self, world: World, directory: Path) -> None:
        self.world = world
        self.directory = directory
        self.rows_written = dict.fromkeys(PARTS, 0)
        self.parts: dict[tuple[str, int], _Part] = {}
        self.files = ExitStack()

    def __enter__(self) -> _DeliveryWriter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.files.close()

    @property
    def paths(self) -> list[Path]:
        """The files written, entity by entity, part by part."""
        return [
            self.parts[entity, part].path
            for entity in PARTS
            for part in range(PARTS[entity])
            if (entity, part) in self.parts
        ]

    def write_all(self, entity: str, rows: Iterable[dict]) -> None:
        for row in rows:
            self.write(entity, row)

    def write(self, entity: str, row: dict) -> None:
        """Row i of an entity goes to part i modulo its number of parts."""
        part = self.rows_written[entity] % PARTS[entity]
        self.rows_written[entity] += 1
        if (entity, part) not in self.parts:
            self.parts[entity, part] = self._open_part(entity, part)
        _, writer, header = self.parts[entity, part]
        writer.writerow([_render(self.world, row.get(column, "free text, with comma")) for column in header])

    def _style(self, part: int) -> int:
        return 0 if self.world.plain else part

    def _open_part(self, entity: str, part: int) -> _Part:
        """Style 0: plain LF. 1: CRLF + BOM, Title Case header, shuffled columns plus an extra one.
        2: gzip. 3: upper-case header without the optional columns that may be absent."""
        style = self._style(part)
        header = list(ENTITIES[entity].columns)
        if style == 1:
            self.world.rng.shuffle(header)
            header.append("notes")
        if style == 3:
            header = [
                c for c in header if c in ENTITIES[entity].required or c in ("created_at", "shipped_at")
            ]
        path = self.directory / entity / f"{entity}_part{part + 1}{'.csv.gz' if style == 2 else '.csv'}"
        path.parent.mkdir(parents=True, exist_ok=True)
        binary = self.files.enter_context(path.open("wb"))
        if style == 2:
            binary = self.files.enter_context(gzip.GzipFile(filename="", fileobj=binary, mode="wb", mtime=0))
        text: TextIO = self.files.enter_context(io.TextIOWrapper(binary, encoding="utf-8", newline=""))
        if style == 1:
            text.write("\ufeff")
        writer = csv.writer(text, lineterminator="\r\n" if style == 1 else "\n")
        shown = [c.title() if style == 1 else c.upper() if style == 3 else c for c in header]
        writer.writerow([f"  {name} " if style == 3 else name for name in shown])
        return _Part(path, writer, header)


def _render(world: World, value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S") if world.plain else _timestamp_text(world.rng, value)
    return str(value) if world.plain or world.rng.random() >= 0.05 else f" {value} "


def _timestamp_text(rng: random.Random, instant: datetime) -> str:
    """The same UTC instant to the second (a random fraction may follow) in one of the accepted forms,
    wall clock shifted to the zone shown."""
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
