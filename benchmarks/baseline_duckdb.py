"""Baseline B: DuckDB computing the same KPIs from the same files, read from a local copy (DuckDB's S3
extension cannot be downloaded here): the single-node floor.

Like baseline A it trusts clean input. DuckDB divides decimals in floating point, so the sums are taken in
exact decimal(38,10) (the generator's prices have at most five decimals) and every division is rounded
half-up in integer arithmetic: exact, as the contract asks.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import duckdb

KPI_SQL = """
with orders as (select * from read_csv('{root}/orders/*.csv*', header = true, all_varchar = true)),
items as (select * from read_csv('{root}/order_items/*.csv*', header = true, all_varchar = true)),
products as (select * from read_csv('{root}/products/*.csv*', header = true, all_varchar = true)),
counted as (
    select
        products.category,
        cast(cast(orders.created_at as timestamp) as date) as order_date,
        items.order_id,
        orders.user_id,
        lower(orders.status) = 'returned' as is_returned,
        cast(items.sale_price as decimal(38, 10)) as sale_price
    from items
    join orders on items.order_id = orders.order_id
    join products on items.product_id = products.id
    where lower(orders.status) != 'cancelled' and lower(items.status) != 'cancelled'
)
"""

CATEGORY_SQL = (
    KPI_SQL
    + """
select
    category,
    strftime(order_date, '%Y-%m-%d') as order_date,
    sum(sale_price) as revenue,
    count(distinct order_id) as orders,
    count(distinct case when is_returned then order_id end) as returned,
    count(*) as items_sold
from counted group by all
"""
)

ORDER_SQL = (
    KPI_SQL
    + """
select
    strftime(order_date, '%Y-%m-%d') as order_date,
    count(distinct order_id) as orders,
    sum(sale_price) as revenue,
    count(*) as items_sold,
    count(distinct case when is_returned then order_id end) as returned,
    count(distinct user_id) as customers
from counted group by all
"""
)


def kpis(root: Path) -> dict[str, list[dict]]:
    """The two KPI tables with money and rates as decimal strings, as `ecom kpis --format json` gives."""
    with duckdb.connect() as connection:
        by_category = connection.sql(CATEGORY_SQL.format(root=root)).fetchall()
        by_date = connection.sql(ORDER_SQL.format(root=root)).fetchall()
    return {
        "category_kpis": [
            {
                "category": category,
                "order_date": day,
                "daily_revenue": money(revenue, 1),
                "avg_order_value": money(revenue, orders),
                "avg_return_rate": rate(returned, orders),
                "orders": orders,
                "items_sold": items_sold,
            }
            for category, day, revenue, orders, returned, items_sold in by_category
        ],
        "order_kpis": [
            {
                "order_date": day,
                "total_orders": orders,
                "total_revenue": money(revenue, 1),
                "total_items_sold": items_sold,
                "return_rate": rate(returned, orders),
                "unique_customers": customers,
                "avg_order_value": money(revenue, orders),
            }
            for day, orders, revenue, items_sold, returned, customers in by_date
        ],
    }


def money(revenue: Decimal, count: int) -> str:
    """revenue / count, rounded half-up to cents."""
    cents = _half_up(int(revenue.scaleb(10)), 10**8 * count)
    return f"{cents // 100}.{cents % 100:02d}"


def rate(part: int, whole: int) -> str:
    """part / whole, rounded half-up to 4 places."""
    basis_points = _half_up(10_000 * part, whole)
    return f"{basis_points // 10_000}.{basis_points % 10_000:04d}"


def _half_up(numerator: int, denominator: int) -> int:
    return (2 * numerator + denominator) // (2 * denominator)
