{#- Every product row with the rules of the contract applied: rejection_reasons lists each rule it breaks. -#}
{#- Incremental: only rows of new cycles are checked; merging on the row's identity (file, landing time,
    row) keeps a delivery's rows once even if an interrupted cycle's rows were checked before. -#}
{{ config(
    materialized='incremental',
    incremental_strategy='merge',
    unique_key=['_source_key', '_landed_at', '_row_number'],
    prune_merge_by='_landed_at',
    tblproperties={'delta.dataSkippingStatsColumns': '_ingested_at,_landed_at'},
) }}

with products as (
    select * from {{ ref('stg_products') }}
    where {{ newer_than_watermark() }}
),

checked as (
    select
        *,
        {{ rejection_reasons({
            'missing_id': 'product_id is null',
            'missing_category': 'category is null',
            'too_long_category': 'octet_length(category) > ' ~ var('dynamodb_partition_key_bytes'),
            'unparseable_cost': 'cost_text is not null and cost is null',
            'unparseable_retail_price': 'retail_price_text is not null and retail_price is null',
            'negative_cost': 'cost < 0',
            'negative_retail_price': 'retail_price < 0',
        }) }} as rejection_reasons
    from products
)

select *, size(rejection_reasons) = 0 as is_valid
from checked
