{#- The current products: one row per product_id, the latest valid version. -#}
{{ latest_valid_rows(ref('int_products__checked'), 'product_id') }}
