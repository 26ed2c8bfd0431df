"""The generator's promises that the end-to-end tests and the benchmark rely on. It makes an updated order
again from its number instead of keeping it, so an update must still be the order first delivered."""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path

import pytest

from ingestion.generate import generate_deliveries
from tests.reference import parse_timestamp, read_rows

KEYS = {"products": "id", "orders": "order_id", "order_items": "id"}
UNCHANGED_BY_AN_UPDATE = {
    "orders": ["user_id", "created_at", "shipped_at", "delivered_at", "num_of_item"],
    "order_items": ["order_id", "product_id", "sale_price", "created_at", "shipped_at", "delivered_at"],
}


@pytest.fixture(scope="module")
def deliveries(tmp_path_factory) -> list[dict[str, dict[str, dict]]]:
    """Three deliveries, each as its rows by entity and key."""
    directories = generate_deliveries(tmp_path_factory.mktemp("generated"), orders=400, seed=9, count=3)
    return [_rows_by_key(directory) for directory in directories]


def _rows_by_key(directory: Path) -> dict[str, dict[str, dict]]:
    rows: dict[str, dict[str, dict]] = {}
    for entity, key in KEYS.items():
        read = [row for path in sorted((directory / entity).iterdir()) for row in read_rows(path)]
        rows[entity] = {row[key]: row for row in read}
        assert len(rows[entity]) == len(read), f"{directory.name}/{entity}: a key appears twice"
    return rows


def test_items_of_the_last_orders_come_one_delivery_before_their_orders(deliveries):
    for this, following in pairwise(deliveries):
        orphans = {item["order_id"] for item in this["order_items"].values()} - set(this["orders"])
        assert len(orphans) == 3
        assert orphans <= set(following["orders"])


def test_an_update_is_the_order_first_delivered_with_a_new_status(deliveries):
    earlier = {entity: {**deliveries[0][entity], **deliveries[1][entity]} for entity in KEYS}
    later = deliveries[2]
    updated = [order_id for order_id in later["orders"] if order_id in earlier["orders"]]

    assert len(updated) >= 2
    for order_id in updated:
        before, after = earlier["orders"][order_id], later["orders"][order_id]
        assert (before["status"], after["status"] in ("returned", "cancelled")) == ("delivered", True)
        assert _same_values(before, after, "orders")
        items_before = {
            key: row for key, row in earlier["order_items"].items() if row["order_id"] == order_id
        }
        items_after = {key: row for key, row in later["order_items"].items() if row["order_id"] == order_id}
        assert set(items_after) == set(items_before)
        for key, item in items_after.items():
            assert item["status"] == after["status"]
            assert _same_values(items_before[key], item, "order_items")


def _same_values(before: dict, after: dict, entity: str) -> bool:
    """Whether the columns an update keeps hold the same values in both rows, where both files have the
    column (some leave out the optional ones); timestamps as instants to the second, since each file
    writes them in its own form with a random fraction of a second."""
    columns = [c for c in UNCHANGED_BY_AN_UPDATE[entity] if c in before and c in after]
    return [_instant(before, c) for c in columns] == [_instant(after, c) for c in columns]


def _instant(row: dict, column: str):
    value = row[column]
    return parse_timestamp(value).replace(microsecond=0) if column.endswith("_at") and value else value
