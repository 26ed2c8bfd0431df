with source as (
    select * from {{ source('raw', 'orders') }}
),

cleaned as (
    select
        {{ clean_text('order_id') }} as order_id,
        {{ clean_text('user_id') }} as user_id,
        lower({{ clean_text('status') }}) as status,
        {{ clean_text('gender') }} as gender,
        {{ clean_text('created_at') }} as created_at_text,
        {{ clean_text('shipped_at') }} as shipped_at_text,
        {{ clean_text('delivered_at') }} as delivered_at_text,
        {{ clean_text('returned_at') }} as returned_at_text,
        {{ clean_text('num_of_item') }} as num_of_item_text,
        {{ lineage_columns() }}
    from source
)

select
    order_id,
    user_id,
    status,
    gender,
    {{ parse_timestamp('created_at_text') }} as created_at,
    {{ parse_timestamp('shipped_at_text') }} as shipped_at,
    {{ parse_timestamp('delivered_at_text') }} as delivered_at,
    {{ parse_timestamp('returned_at_text') }} as returned_at,
    {{ parse_integer('num_of_item_text') }} as num_of_item,
    created_at_text,
    shipped_at_text,
    delivered_at_text,
    returned_at_text,
    num_of_item_text,
    {{ lineage_columns() }}
from cleaned
