{#- Per entity, over every accepted file so far: received = rejected + superseded + current.
    superseded counts valid rows replaced by a later valid row of the same key.
    One aggregate per table, joined on entity: each table is read once (scalar subqueries per figure
    read the current-state tables twice; docs/benchmarks.md, "MERGE sources and pruning"). -#}
{% set entities = ['orders', 'order_items', 'products'] %}

with checked as (
    {% for entity in entities %}
    select
        '{{ entity }}' as entity,
        count(*) as received,
        count_if(not is_valid) as rejected,
        count_if(is_valid) as valid
    from {{ ref('int_' ~ entity ~ '__checked') }}
    {{ 'union all' if not loop.last }}
    {% endfor %}
),

current_rows as (
    {% for entity in entities %}
    select '{{ entity }}' as entity, count(*) as current
    from {{ ref('int_' ~ entity ~ '__current') }}
    {{ 'union all' if not loop.last }}
    {% endfor %}
),

pending as (
    select 'order_items' as entity, count(*) as pending
    from {{ ref('order_items_pending') }}
)

select
    checked.entity,
    checked.received,
    checked.rejected,
    checked.valid - current_rows.current as superseded,
    current_rows.current,
    pending.pending
from checked
inner join current_rows on checked.entity = current_rows.entity
left join pending on checked.entity = pending.entity
