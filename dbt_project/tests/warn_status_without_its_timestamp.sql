{{ config(severity='warn') }}
{#- Data-quality signal: an order says shipped, delivered or returned but lacks that timestamp. -#}
select order_id, status, shipped_at, delivered_at, returned_at
from {{ ref('int_orders__current') }}
where (status = 'shipped' and shipped_at is null)
    or (status in ('delivered', 'complete') and delivered_at is null)
    or (status = 'returned' and returned_at is null)
