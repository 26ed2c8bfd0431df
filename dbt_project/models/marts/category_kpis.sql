{#- One row per (product category, order date) with a counted item. avg_return_rate is the share of that
    day's orders containing the category whose order status is returned.
    Incremental: only the order dates whose inputs changed are recomputed and merged; a recomputed
    date's rows that no longer have counted items are deleted (macros/kpi_dates.sql). -#}
{{ config(
    materialized='incremental',
    incremental_strategy='merge',
    unique_key=['category', 'order_date'],
    delete_unrecomputed_dates=true,
    post_hook="{{ record_item_changes_absorbed() }}",
) }}

{%- set plan = recompute_plan() %}
{{ carry_recompute_plan(plan) }}
with counted as (
    select * from {{ ref('fct_order_items') }}
    where is_counted and {{ order_date_in(plan.dates) }}
),

by_category_day as (
    select
        category,
        order_date,
        sum(sale_price) as revenue,
        count(distinct order_id) as orders,
        count(distinct case when order_status = 'returned' then order_id end) as returned_orders,
        count(*) as items_sold
    from counted
    group by category, order_date
)

select
    category,
    order_date,
    {{ money('revenue') }} as daily_revenue,
    {{ money('revenue / orders') }} as avg_order_value,
    {{ rate('returned_orders', 'orders') }} as avg_return_rate,
    orders,
    items_sold
from by_category_day
