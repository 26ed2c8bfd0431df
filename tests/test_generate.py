"""The generator's promises that the end-to-end tests and the benchmark rely on. It makes an earlier order
or product again from its number instead of keeping it, so an update must still be the row first
delivered."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from decimal import Decimal
from itertools import pairwise
from pathlib import Path

import pytest

from ingestion.entities import ENTITIES
from ingestion.generate import HELD_BACK, PARTS, generate_deliveries, generate_delivery
from tests.reference import parse_timestamp, read_rows

UNCHANGED_BY_AN_UPDATE = {
    "orders": ["user_id", "created_at", "shipped_at", "delivered_at", "num_of_item"],
    "order_items": ["order_id", "product_id", "sale_price", "created_at", "shipped_at", "delivered_at"],
    "products": ["cost", "retail_price", "name", "brand", "department", "sku"],
}
Rows = dict[str, dict[str, dict]]  # by entity, then by key


@pytest.fixture(scope="module")
def deliveries(tmp_path_factory: pytest.TempPathFactory) -> list[Rows]:
    directories = generate_deliveries(tmp_path_factory.mktemp("generated"), orders=400, seed=9, count=3)
    return [_rows_by_key(directory) for directory in directories]


def _rows_by_key(directory: Path) -> Rows:
    """A delivery's rows; fails when a key appears twice in it."""
    rows: Rows = {}
    for entity in PARTS:
        read = [row for path in sorted((directory / entity).glob("*")) for row in read_rows(path)]
        rows[entity] = {row[ENTITIES[entity].key]: row for row in read}
        assert len(rows[entity]) == len(read), f"{directory.name}/{entity}: a key appears twice"
    return rows


def test_the_last_orders_items_come_one_delivery_before_them_and_the_last_delivery_holds_none_back(
    deliveries,
):
    for this, following in pairwise(deliveries):
        held_back = _orphan_orders(this)
        assert len(held_back) == HELD_BACK
        assert held_back <= set(following["orders"])
    assert _orphan_orders(deliveries[-1]) == set()


def _orphan_orders(rows: Rows) -> set[str]:
    return {item["order_id"] for item in rows["order_items"].values()} - set(rows["orders"])


def test_an_update_is_the_delivered_order_first_sent_with_a_return_or_cancellation(deliveries):
    earlier: Rows = {entity: {} for entity in PARTS}  # every delivery so far, later rows winning
    for previous, later in pairwise(deliveries):
        for entity in PARTS:
            earlier[entity].update(previous[entity])
        updated = [order_id for order_id in later["orders"] if order_id in earlier["orders"]]

        assert len(updated) >= 2
        for order_id in updated:
            before, after = earlier["orders"][order_id], later["orders"][order_id]
            assert before["status"] == "delivered"
            assert after["status"] in ("returned", "cancelled")
            assert _same_values(before, after, "orders")
            items_after = _items_of(later, order_id)
            assert set(items_after) == set(_items_of(earlier, order_id))
            for key, item in items_after.items():
                assert _same_values(earlier["order_items"][key], item, "order_items")
            for row in [after, *items_after.values()]:
                assert row["status"] == after["status"]
                if "returned_at" in row and "delivered_at" in row:  # some files leave them out
                    assert _instant(row, "returned_at") == (
                        _instant(row, "delivered_at") + timedelta(days=3)
                        if after["status"] == "returned"
                        else None
                    )


def test_each_later_delivery_moves_one_product_away_from_its_latest_category(tmp_path):
    """Twenty-five deliveries over twenty products: some product moves twice."""
    deliveries = [_rows_by_key(d) for d in generate_deliveries(tmp_path, orders=80, seed=2, count=25)]
    latest = dict(deliveries[0]["products"])
    for rows in deliveries[1:]:
        (moved,) = rows["products"].values()
        assert moved["category"] != latest[moved["id"]]["category"]
        assert _same_values(latest[moved["id"]], moved, "products")
        latest[moved["id"]] = moved
    assert len(latest) == 20 < len(deliveries) - 1


def test_an_item_is_sold_at_its_products_retail_price_or_a_discount_of_it(deliveries):
    products = deliveries[0]["products"]
    for rows in deliveries:
        for item in rows["order_items"].values():
            share = Decimal(item["sale_price"]) / Decimal(products[item["product_id"]]["retail_price"])
            assert share in (1, Decimal("0.9"), Decimal("0.75")), item


def _items_of(rows: Rows, order_id: str) -> dict[str, dict]:
    return {key: item for key, item in rows["order_items"].items() if item["order_id"] == order_id}


def _same_values(before: dict, after: dict, entity: str) -> bool:
    """Whether the columns an update keeps hold the same values in both rows, where both files have the
    column (some leave out the optional ones)."""
    columns = [c for c in UNCHANGED_BY_AN_UPDATE[entity] if c in before and c in after]
    return [_instant(before, c) for c in columns] == [_instant(after, c) for c in columns]


def _instant(row: dict, column: str) -> datetime | str | None:
    """A timestamp as its instant to the second (each file writes it in its own form, with a random
    fraction of a second); other values as they are."""
    value = row[column]
    return parse_timestamp(value).replace(microsecond=0) if column.endswith("_at") and value else value


def test_the_same_seed_writes_the_same_bytes_in_parts_of_even_size(tmp_path):
    first = generate_delivery(tmp_path / "first", orders=50, seed=4)
    again = generate_delivery(tmp_path / "again", orders=50, seed=4)

    assert [p.relative_to(tmp_path / "first") for p in first] == [
        p.relative_to(tmp_path / "again") for p in again
    ]
    assert [p.read_bytes() for p in first] == [p.read_bytes() for p in again]
    assert sorted(first) == sorted(p for p in (tmp_path / "first").rglob("*") if p.is_file())
    for entity in PARTS:
        sizes = [len(read_rows(p)) for p in first if p.parent.name == entity]
        assert (len(sizes), max(sizes) - min(sizes) <= 1) == (PARTS[entity], True), entity


def test_plain_files_are_what_the_simplest_reader_expects(tmp_path):
    for path in generate_delivery(tmp_path, orders=50, seed=4, plain=True):
        text = path.read_text(encoding="utf-8")
        header, first_row = text.split("\n", 2)[:2]
        assert path.suffix == ".csv"
        assert "\r" not in text
        assert header == ",".join(ENTITIES[path.parent.name].columns)
        assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(,|$)", first_row) or path.parent.name == "products"
