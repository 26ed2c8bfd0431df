{#- Every current order with the value of its counted items and a value band (thresholds are dbt vars).
    Incremental: only orders whose own row changed, or that have or had an item that changed, since this
    table's newest _changed_at (and those of a backfill's order dates) are rebuilt, merged on order_id. -#}
{{ config(
    materialized='incremental',
    incremental_strategy='merge',
    unique_key='order_id',
    tblproperties={'delta.dataSkippingStatsColumns': '_changed_at,order_id'},
) }}

with orders as (
    select * from {{ ref('int_orders__current') }}
),

items as (
    select * from {{ ref('fct_order_items') }}
),

{% if is_incremental() %}
{%- set since = watermark(this, '_changed_at') %}
changed_orders as (
    select order_id from orders
    where _ingested_at > {{ since }} or {{ in_backfill('to_date(created_at)') }}
    union
    select explode(_order_ids_seen) as order_id from items where _changed_at > {{ since }}
),
{% endif %}

orders_to_build as (
    {{ rows_with_changed_keys('orders', 'changed_orders', 'order_id') }}
),

items_by_order as (
    select
        items.order_id,
        count_if(items.is_counted) as items_counted,
        sum(case when items.is_counted then items.sale_price end) as order_value,
        max(items._changed_at) as items_changed_at
    from items
    left semi join orders_to_build on items.order_id = orders_to_build.order_id
    group by items.order_id
)

select
    orders.order_id,
    orders.user_id,
    orders.status,
    orders.gender,
    orders.created_at,
    to_date(orders.created_at) as order_date,
    orders.shipped_at,
    orders.delivered_at,
    orders.returned_at,
    orders.num_of_item,
    coalesce(items_by_order.items_counted, 0) as items_counted,
    cast(round(coalesce(items_by_order.order_value, 0), 2) as decimal(18, 2)) as order_value,
    case
        when coalesce(items_by_order.order_value, 0) >= {{ var('order_value_band_large_from') }} then 'Large'
        when coalesce(items_by_order.order_value, 0) >= {{ var('order_value_band_medium_from') }} then 'Medium'
        else 'Small'
    end as order_value_band,
    greatest(orders._ingested_at, items_by_order.items_changed_at) as _changed_at
from orders_to_build as orders
left join items_by_order on orders.order_id = items_by_order.order_id
