{#- Every current order item with its current order and product. An item is counted in the KPIs when its
    order and product are current and neither it nor its order is cancelled; otherwise it waits (pending)
    for the missing parent, or is excluded as cancelled. -#}
with items as (
    select * from {{ ref('int_order_items__current') }}
),

orders as (
    select * from {{ ref('int_orders__current') }}
),

products as (
    select * from {{ ref('int_products__current') }}
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
        items._landed_at
    from items
    left join orders on items.order_id = orders.order_id
    left join products on items.product_id = products.product_id
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
    case
        when not has_order and not has_product then 'order_and_product'
        when not has_order then 'order'
        when not has_product then 'product'
    end as waiting_for,
    has_order and has_product
        and order_status != 'cancelled'
        and item_status != 'cancelled' as is_counted,
    _source_key,
    _line_number,
    _landed_at
from joined
