{#- Every current order with the value of its counted items and a value band (thresholds are dbt vars). -#}
with orders as (
    select * from {{ ref('int_orders__current') }}
),

counted_items as (
    select
        order_id,
        count(*) as items_counted,
        sum(sale_price) as order_value
    from {{ ref('fct_order_items') }}
    where is_counted
    group by order_id
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
    coalesce(counted_items.items_counted, 0) as items_counted,
    cast(round(coalesce(counted_items.order_value, 0), 2) as decimal(18, 2)) as order_value,
    case
        when coalesce(counted_items.order_value, 0) >= {{ var('order_value_band_large_from') }} then 'Large'
        when coalesce(counted_items.order_value, 0) >= {{ var('order_value_band_medium_from') }} then 'Medium'
        else 'Small'
    end as order_value_band
from orders
left join counted_items on orders.order_id = counted_items.order_id
