{#- Every order item row with the rules of the contract applied: rejection_reasons lists each rule it breaks. -#}
{#- Incremental: only rows of new cycles are checked; merging on the row's identity (file, landing time,
    row) keeps a delivery's rows once even if an interrupted cycle's rows were checked before. -#}
{{ config(
    materialized='incremental',
    incremental_strategy='merge',
    unique_key=['_source_key', '_landed_at', '_row_number'],
    prune_merge_by='_landed_at',
    tblproperties={'delta.dataSkippingStatsColumns': '_ingested_at,_landed_at'},
) }}

with order_items as (
    select * from {{ ref('stg_order_items') }}
    where {{ newer_than_watermark() }}
),

checked as (
    select
        *,
        {{ rejection_reasons({
            'missing_id': 'order_item_id is null',
            'missing_order_id': 'order_id is null',
            'missing_product_id': 'product_id is null',
            'missing_status': 'status is null',
            'missing_sale_price': 'sale_price_text is null',
            'unparseable_sale_price': 'sale_price_text is not null and sale_price is null',
            'unparseable_created_at': 'created_at_text is not null and created_at is null',
            'unparseable_shipped_at': 'shipped_at_text is not null and shipped_at is null',
            'unparseable_delivered_at': 'delivered_at_text is not null and delivered_at is null',
            'unparseable_returned_at': 'returned_at_text is not null and returned_at is null',
            'invalid_status': "status not in ('" ~ var('accepted_statuses') | join("', '") ~ "')",
            'negative_sale_price': 'sale_price < 0',
            'shipped_before_created': 'shipped_at < created_at',
            'delivered_before_shipped': 'delivered_at < shipped_at',
            'returned_before_delivered': 'returned_at < delivered_at',
        }) }} as rejection_reasons
    from order_items
)

select *, size(rejection_reasons) = 0 as is_valid
from checked
