{#- Current order items waiting for their order or product: not counted in any KPI until the missing parent
    arrives, in whatever later cycle that is. -#}
select
    order_item_id,
    order_id,
    product_id,
    waiting_for,
    _landed_at as waiting_since,
    _source_key as source_key,
    _line_number as line_number
from {{ ref('fct_order_items') }}
where waiting_for is not null
