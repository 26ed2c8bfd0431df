{{ config(severity='warn') }}
{#- Data-quality signal, no KPI changes: an order's num_of_item differs from its current items. -#}
with items as (
    select order_id, count(*) as items from {{ ref('int_order_items__current') }} group by order_id
)

select orders.order_id, orders.num_of_item, coalesce(items.items, 0) as current_items
from {{ ref('int_orders__current') }} as orders
left join items on orders.order_id = items.order_id
where orders.num_of_item is not null and orders.num_of_item != coalesce(items.items, 0)
