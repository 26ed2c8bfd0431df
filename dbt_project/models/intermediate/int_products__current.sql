{#- The current products: one row per product_id, the latest valid version. -#}
{{ config(
    materialized='incremental',
    incremental_strategy='merge',
    unique_key='product_id',
    tblproperties={'delta.dataSkippingStatsColumns': '_ingested_at,_landed_at,product_id'},
) }}
{{ latest_valid_rows(ref('int_products__checked'), 'product_id') }}
