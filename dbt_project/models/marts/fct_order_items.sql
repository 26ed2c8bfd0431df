{#- Every current order item with its current order and product. An item is counted in the KPIs when its
    order and product are current and neither it nor its order is cancelled; otherwise it waits (pending)
    for the missing parent, or is excluded as cancelled.
    Incremental: only the items whose own row, order or product changed since this table's newest
    _changed_at are rebuilt (and those of a backfill's order dates), merged on order_item_id.
    _order_dates_seen keeps every order date the item has had, so the KPI marts recompute the dates it
    left as well as the one it is on; _order_ids_seen every order, so fct_orders rebuilds an order an
    item left. -#}
{{ config(
    materialized='incremental',
    incremental_strategy='merge',
    unique_key='order_item_id',
    tblproperties={'delta.dataSkippingStatsColumns': '_changed_at,order_item_id'},
) }}

with items as (
    select * from {{ ref('int_order_items__current') }}
),

orders as (
    select * from {{ ref('int_orders__current') }}
),

products as (
    select * from {{ ref('int_products__current') }}
),

{% if is_incremental() %}
{%- set since = watermark(this, '_changed_at') %}
changed_items as (
    select order_item_id from items where _ingested_at > {{ since }}
    union
    select items.order_item_id
    from items
    inner join orders on items.order_id = orders.order_id
    where orders._ingested_at > {{ since }} or {{ in_backfill('to_date(orders.created_at)') }}
    union
    select items.order_item_id
    from items
    inner join products on items.product_id = products.product_id
    where products._ingested_at > {{ since }}
),
{% endif %}

items_to_build as (
    {{ rows_with_changed_keys('items', 'changed_items', 'order_item_id') }}
),

joined as (
    select
        items.order_item_id,
        items.order_id,
        items.product_id,
        orders.user_id,
        products.category,
        items.sale_price,
        items.status as item_status,
        orders.status as order_status,
        orders.created_at as order_created_at,
        to_date(orders.created_at) as order_date,
        items.created_at as item_created_at,
        orders.order_id is not null as has_order,
        products.product_id is not null as has_product,
        items._source_key,
        items._line_number,
        items._landed_at,
        greatest(items._ingested_at, orders._ingested_at, products._ingested_at) as _changed_at
    from items_to_build as items
    left join orders on items.order_id = orders.order_id
    left join products on items.product_id = products.product_id
),

{% if is_incremental() %}
seen_before as (
    select order_item_id, _order_dates_seen, _order_ids_seen
    from {{ this }}
    left semi join changed_items using (order_item_id)
),
{% else %}
seen_before as (
    select
        cast(null as string) as order_item_id,
        cast(null as array<date>) as _order_dates_seen,
        cast(null as array<string>) as _order_ids_seen
    where false
),
{% endif %}

classified as (
    select
        joined.*,
        case
            when not has_order and not has_product then 'order_and_product'
            when not has_order then 'order'
            when not has_product then 'product'
        end as waiting_for,
        has_order and has_product
            and order_status != 'cancelled'
            and item_status != 'cancelled' as is_counted,
        {%- for seen, value in [('_order_dates_seen', 'order_date'), ('_order_ids_seen', 'order_id')] %}
        array_sort(array_distinct(filter(
            concat(coalesce(seen_before.{{ seen }}, array()), array(joined.{{ value }})),
            seen -> seen is not null
        ))) as {{ seen }}{{ ',' if not loop.last }}
        {%- endfor %}
    from joined
    left join seen_before on joined.order_item_id = seen_before.order_item_id
)

select
    order_item_id,
    order_id,
    product_id,
    user_id,
    category,
    sale_price,
    item_status,
    order_status,
    order_created_at,
    order_date,
    item_created_at,
    waiting_for,
    is_counted,
    _source_key,
    _line_number,
    _landed_at,
    _changed_at,
    _order_dates_seen,
    _order_ids_seen
from classified
