{{ config(severity='error') }}
{#- Every counted item has exactly one category, so per day the categories' items add up to the day's
    items and their revenue to the day's revenue (within half a cent per rounded figure). -#}
with by_day as (
    select order_date, sum(items_sold) as items_sold, sum(daily_revenue) as revenue, count(*) as categories
    from {{ ref('category_kpis') }}
    group by order_date
)

select order_kpis.order_date, order_kpis.total_items_sold, by_day.items_sold, order_kpis.total_revenue, by_day.revenue
from {{ ref('order_kpis') }} as order_kpis
full outer join by_day on order_kpis.order_date = by_day.order_date
where order_kpis.order_date is null
    or by_day.order_date is null
    or order_kpis.total_items_sold != by_day.items_sold
    or abs(order_kpis.total_revenue - by_day.revenue) > 0.005 * (by_day.categories + 1)
