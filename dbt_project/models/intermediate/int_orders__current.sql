{#- The current orders: one row per order_id, the latest valid version. -#}
{{ config(
    materialized='incremental',
    incremental_strategy='merge',
    unique_key='order_id',
    tblproperties={'delta.dataSkippingStatsColumns': '_ingested_at,_landed_at,order_id'},
) }}
{{ latest_valid_rows(ref('int_orders__checked'), 'order_id') }}
