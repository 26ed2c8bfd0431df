{{ config(severity='warn') }}
{#- Data-quality signal: an item sold above its product's retail price. -#}
select items.order_item_id, items.sale_price, products.retail_price
from {{ ref('int_order_items__current') }} as items
inner join {{ ref('int_products__current') }} as products on items.product_id = products.product_id
where products.retail_price is not null and items.sale_price > products.retail_price
