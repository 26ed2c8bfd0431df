{{ config(severity='error') }}
select category, order_date, orders, daily_revenue, avg_order_value
from {{ ref('category_kpis') }}
where abs(avg_order_value * orders - daily_revenue) > 0.005 * (orders + 1)
