"""The three landed entities and their columns, as the data contract (docs/contract.md) defines them."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Entity:
    name: str
    key: str
    required: tuple[str, ...]
    optional: tuple[str, ...]

    @property
    def columns(self) -> tuple[str, ...]:
        return self.required + self.optional


ENTITIES: dict[str, Entity] = {
    entity.name: entity
    for entity in (
        Entity(
            name="orders",
            key="order_id",
            required=("order_id", "user_id", "status", "created_at"),
            optional=("shipped_at", "delivered_at", "returned_at", "num_of_item", "gender"),
        ),
        Entity(
            name="order_items",
            key="id",
            required=("id", "order_id", "product_id", "status", "sale_price"),
            optional=(
                "user_id",
                "inventory_item_id",
                "created_at",
                "shipped_at",
                "delivered_at",
                "returned_at",
            ),
        ),
        Entity(
            name="products",
            key="id",
            required=("id", "category"),
            optional=(
                "cost",
                "retail_price",
                "name",
                "brand",
                "department",
                "sku",
                "distribution_center_id",
            ),
        ),
    )
}
