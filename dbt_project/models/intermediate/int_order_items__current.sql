{#- The current order_items: one row per order_item_id, the latest valid version. -#}
{{ config(
    materialized='incremental',
    incremental_strategy='merge',
    unique_key='order_item_id',
    tblproperties={'delta.dataSkippingStatsColumns': '_ingested_at,_landed_at,order_item_id'},
) }}
{{ latest_valid_rows(ref('int_order_items__checked'), 'order_item_id') }}
