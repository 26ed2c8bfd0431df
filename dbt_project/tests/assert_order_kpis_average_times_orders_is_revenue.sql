{{ config(severity='error') }}
{#- avg_order_value * total_orders matches total_revenue within rounding: each of the two rounded figures
    is off by at most half a cent, and the average's error grows with the number of orders. -#}
select order_date, total_orders, total_revenue, avg_order_value
from {{ ref('order_kpis') }}
where abs(avg_order_value * total_orders - total_revenue) > 0.005 * (total_orders + 1)
