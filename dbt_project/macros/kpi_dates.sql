{#- The KPI marts recompute only the order dates whose inputs changed: every date an item changed since
    the mart last recomputed has had (fct_order_items._order_dates_seen), and a backfill's dates. The mart
    remembers how far it has read in a Delta table property, written after its merge: a crash before that
    only makes the next cycle recompute the same dates again. -#}

{#- A backfill (`ecom backfill --start D --end D`, or a run of the kpi_backfill job over a range of order-date
    partitions in Dagster) passes its first and last order date as the vars backfill_start and backfill_end:
    (first, last), or none outside a backfill. -#}
{% macro backfill_dates() %}
    {%- set first, last = var('backfill_start', none), var('backfill_end', none) -%}
    {{ return((first, last) if first and last else none) }}
{% endmacro %}

{% macro in_backfill(order_date) -%}
    {%- set backfill = backfill_dates() -%}
    {%- if backfill -%}
    {{ order_date }} between date'{{ backfill[0] }}' and date'{{ backfill[1] }}'
    {%- else -%}
    false
    {%- endif -%}
{%- endmacro %}

{#- The order dates to recompute as 'YYYY-MM-DD' strings; none means every date (first build, full refresh,
    unit tests). -#}
{% macro order_dates_to_recompute() %}
    {%- if not (execute and is_incremental() and model.resource_type == 'model') -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set backfill = backfill_dates() -%}
    {%- set query -%}
        select distinct cast(order_date as string)
        from (
            select explode(_order_dates_seen) as order_date
            from {{ ref('fct_order_items') }}
            where _changed_at > timestamp'{{ item_changes_absorbed(this) }}'
            {%- if backfill %}
            union all
            select explode(sequence(date'{{ backfill[0] }}', date'{{ backfill[1] }}')) as order_date
            {%- endif %}
        )
        order by 1
    {%- endset -%}
    {{ return(run_query(query).columns[0].values() | list) }}
{% endmacro %}

{% macro order_date_in(dates, column='order_date') -%}
    {%- if dates is none -%}
    true
    {%- elif dates | length == 0 -%}
    false
    {%- else -%}
    {{ column }} in ({% for day in dates %}date'{{ day }}'{{ ', ' if not loop.last }}{% endfor %})
    {%- endif -%}
{%- endmacro %}

{#- The newest fct_order_items._changed_at a KPI mart has absorbed (epoch when it has none). -#}
{% macro item_changes_absorbed(relation) %}
    {%- for row in run_query('show tblproperties ' ~ relation) -%}
        {%- if row[0] == 'ecom.item_changes_through' -%}{{ return(row[1]) }}{%- endif -%}
    {%- endfor -%}
    {{ return('1970-01-01 00:00:00') }}
{% endmacro %}

{#- Post-hook of the KPI marts: they have absorbed every item change fct_order_items holds (nothing else
    writes it while the cycle's dbt build runs). Nothing to record, no statement: a cycle that changed no
    item adds no version to the mart. -#}
{% macro record_item_changes_absorbed() %}
    {%- if execute -%}
        {%- set newest = run_query(
            "select cast(coalesce(max(_changed_at), timestamp'1970-01-01 00:00:00') as string) from "
            ~ ref('fct_order_items')
        ).columns[0].values()[0] -%}
        {%- if newest != item_changes_absorbed(this) -%}
    alter table {{ this }} set tblproperties ('ecom.item_changes_through' = '{{ newest }}')
        {%- endif -%}
    {%- endif -%}
{% endmacro %}
