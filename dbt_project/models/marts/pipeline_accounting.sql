{#- Per entity, over every accepted file so far: received = rejected + superseded + current.
    superseded counts valid rows replaced by a later valid row of the same key. -#}
{% set entities = [('orders', 'order_id'), ('order_items', 'order_item_id'), ('products', 'product_id')] %}

{% for entity, key in entities %}
select
    '{{ entity }}' as entity,
    count(*) as received,
    count_if(not is_valid) as rejected,
    count_if(is_valid) - (select count(*) from {{ ref('int_' ~ entity ~ '__current') }}) as superseded,
    (select count(*) from {{ ref('int_' ~ entity ~ '__current') }}) as current,
    {% if entity == 'order_items' -%}
    (select count(*) from {{ ref('order_items_pending') }})
    {%- else -%}
    cast(null as bigint)
    {%- endif %} as pending
from {{ ref('int_' ~ entity ~ '__checked') }}
{{ 'union all' if not loop.last }}
{% endfor %}
