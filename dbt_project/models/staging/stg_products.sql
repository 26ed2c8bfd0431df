with source as (
    select * from {{ source('raw', 'products') }}
),

cleaned as (
    select
        {{ clean_text('id') }} as product_id,
        {{ clean_text('category') }} as category,
        {{ clean_text('name') }} as product_name,
        {{ clean_text('brand') }} as brand,
        {{ clean_text('department') }} as department,
        {{ clean_text('sku') }} as sku,
        {{ clean_text('distribution_center_id') }} as distribution_center_id,
        {{ clean_text('cost') }} as cost_text,
        {{ clean_text('retail_price') }} as retail_price_text,
        {{ lineage_columns() }}
    from source
)

select
    product_id,
    category,
    product_name,
    brand,
    department,
    sku,
    distribution_center_id,
    {{ parse_money('cost_text') }} as cost,
    {{ parse_money('retail_price_text') }} as retail_price,
    cost_text,
    retail_price_text,
    {{ lineage_columns() }}
from cleaned
