{#- The current orders: one row per order_id, the latest valid version. -#}
{{ latest_valid_rows(ref('int_orders__checked'), 'order_id') }}
