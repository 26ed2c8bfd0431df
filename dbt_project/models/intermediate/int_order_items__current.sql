{#- The current order_items: one row per order_item_id, the latest valid version. -#}
{{ latest_valid_rows(ref('int_order_items__checked'), 'order_item_id') }}
