{#- One row per order date with a counted item. Sums are exact decimals, rounded half-up at the end:
    money to 2 places, rates to 4.
    Incremental: only the order dates whose inputs changed are recomputed and merged; a recomputed
    date's rows that no longer have counted items are deleted (macros/kpi_dates.sql). -#}
{{ config(
    materialized='incremental',
    incremental_strategy='merge',
    unique_key='order_date',
    delete_unrecomputed_dates=true,
    post_hook="{{ record_item_changes_absorbed() }}",
) }}

{%- set plan = recompute_plan() %}
{{ carry_recompute_plan(plan) }}
with counted as (
    select * from {{ ref('fct_order_items') }}
    where is_counted and {{ order_date_in(plan.dates) }}
),

orders as (
    select distinct order_id, order_date, order_status, user_id
    from counted
),

items_by_day as (
    select
        order_date,
        count(*) as total_items_sold,
        sum(sale_price) as revenue
    from counted
    group by order_date
),

orders_by_day as (
    select
        order_date,
        count(*) as total_orders,
        count_if(order_status = 'returned') as returned_orders,
        count(distinct user_id) as unique_customers
    from orders
    group by order_date
)

select
    items_by_day.order_date,
    orders_by_day.total_orders,
    {{ money('items_by_day.revenue') }} as total_revenue,
    items_by_day.total_items_sold,
    {{ rate('orders_by_day.returned_orders', 'orders_by_day.total_orders') }} as return_rate,
    orders_by_day.unique_customers,
    {{ money('items_by_day.revenue / orders_by_day.total_orders') }} as avg_order_value
from items_by_day
inner join orders_by_day on items_by_day.order_date = orders_by_day.order_date
