{{ config(severity='error') }}
{#- Return rates are shares of orders: between 0 and 1. -#}
select 'order_kpis' as mart, cast(order_date as string) as row_key, return_rate as rate
from {{ ref('order_kpis') }}
where return_rate < 0 or return_rate > 1 or return_rate is null
union all
select 'category_kpis', concat(category, ' ', cast(order_date as string)), avg_return_rate
from {{ ref('category_kpis') }}
where avg_return_rate < 0 or avg_return_rate > 1 or avg_return_rate is null
