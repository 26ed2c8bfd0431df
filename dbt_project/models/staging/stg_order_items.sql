with source as (
    select * from {{ source('raw', 'order_items') }}
),

cleaned as (
    select
        {{ clean_text('id') }} as order_item_id,
        {{ clean_text('order_id') }} as order_id,
        {{ clean_text('product_id') }} as product_id,
        {{ clean_text('user_id') }} as user_id,
        {{ clean_text('inventory_item_id') }} as inventory_item_id,
        lower({{ clean_text('status') }}) as status,
        {{ clean_text('sale_price') }} as sale_price_text,
        {{ clean_text('created_at') }} as created_at_text,
        {{ clean_text('shipped_at') }} as shipped_at_text,
        {{ clean_text('delivered_at') }} as delivered_at_text,
        {{ clean_text('returned_at') }} as returned_at_text,
        {{ lineage_columns() }}
    from source
)

select
    order_item_id,
    order_id,
    product_id,
    user_id,
    inventory_item_id,
    status,
    {{ parse_money('sale_price_text') }} as sale_price,
    {{ parse_timestamp('created_at_text') }} as created_at,
    {{ parse_timestamp('shipped_at_text') }} as shipped_at,
    {{ parse_timestamp('delivered_at_text') }} as delivered_at,
    {{ parse_timestamp('returned_at_text') }} as returned_at,
    sale_price_text,
    created_at_text,
    shipped_at_text,
    delivered_at_text,
    returned_at_text,
    {{ lineage_columns() }}
from cleaned
