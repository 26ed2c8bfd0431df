{#- Every rejected row of every accepted file: where it came from (file, line), why (every reason code that
    applies) and its values as they were in the file. Rejected rows never reach the current tables. -#}
{% set entities = [
    ('orders', 'order_id', ['order_id', 'user_id', 'status', 'created_at_text', 'shipped_at_text', 'delivered_at_text', 'returned_at_text', 'num_of_item_text']),
    ('order_items', 'order_item_id', ['order_item_id', 'order_id', 'product_id', 'status', 'sale_price_text', 'created_at_text', 'shipped_at_text', 'delivered_at_text', 'returned_at_text']),
    ('products', 'product_id', ['product_id', 'category', 'cost_text', 'retail_price_text']),
] %}

{{ config(
    materialized='incremental',
    incremental_strategy='merge',
    unique_key=['source_key', 'landed_at', 'row_number'],
    prune_merge_by='landed_at',
    tblproperties={'delta.dataSkippingStatsColumns': 'landed_at,ingested_at,source_key,entity'},
) }}

{#- One watermark for the three entities: the newest rejected row this table holds, of any entity. -#}
{% set is_new = newer_than_watermark('_ingested_at', 'ingested_at') %}

{% for entity, key, columns in entities %}
select
    '{{ entity }}' as entity,
    {{ key }} as record_key,
    _source_key as source_key,
    _line_number as line_number,
    _row_number as row_number,
    rejection_reasons,
    coalesce(_corrupt_record, to_json(named_struct(
        {%- for column in columns %}'{{ column | replace('_text', '') }}', {{ column }}{{ ', ' if not loop.last }}{% endfor -%}
    ))) as raw_values,
    _landed_at as landed_at,
    _cycle_id as cycle_id,
    _ingested_at as ingested_at
from {{ ref('int_' ~ entity ~ '__checked') }}
where not is_valid and {{ is_new }}
{{ 'union all' if not loop.last }}
{% endfor %}
