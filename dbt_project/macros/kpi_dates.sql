{#- The KPI marts recompute only the order dates whose inputs changed: every date an item changed since
    the mart last recomputed has had (fct_order_items._order_dates_seen), and a backfill's dates. The mart
    remembers how far it has read in a Delta table property, written after its merge: a crash before that
    only makes the next cycle recompute the same dates again. -#}

{#- A backfill (`ecom backfill --start D --end D`, or a date-range backfill in Dagster) passes its first and
    last order date as the vars backfill_start and backfill_end. -#}
{% macro in_backfill(order_date) -%}
    {%- set first, last = var('backfill_start', none), var('backfill_end', none) -%}
    {%- if first and last -%}
    {{ order_date }} between date'{{ first }}' and date'{{ last }}'
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
    {%- set first, last = var('backfill_start', none), var('backfill_end', none) -%}
    {%- set query -%}
        select distinct cast(order_date as string)
        from (
            select explode(_order_dates_seen) as order_date
            from {{ ref('fct_order_items') }}
            where _changed_at > timestamp'{{ item_changes_absorbed(this) }}'
            {%- if first and last %}
            union all
            select explode(sequence(date'{{ first }}', date'{{ last }}')) as order_date
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
    writes it while the cycle's dbt build runs). -#}
{% macro record_item_changes_absorbed() %}
    {%- set newest = run_query(
        "select cast(coalesce(max(_changed_at), timestamp'1970-01-01 00:00:00') as string) from "
        ~ ref('fct_order_items')
    ).columns[0].values()[0] if execute else '' -%}
    alter table {{ this }} set tblproperties ('ecom.item_changes_through' = '{{ newest }}')
{% endmacro %}

{#- dbt-spark's merge, plus: a model configured with delete_unrecomputed_dates drops the rows of the dates
    it recomputed that the new results no longer hold (a KPI row left without counted items). -#}
{% macro spark__get_merge_sql(target, source, unique_key, dest_columns, incremental_predicates) %}
    {{ dbt.spark__get_merge_sql(target, source, unique_key, dest_columns, incremental_predicates) }}
    {%- set dates = order_dates_to_recompute() if config.get('delete_unrecomputed_dates') -%}
    {%- if dates %}
      when not matched by source and {{ order_date_in(dates, 'DBT_INTERNAL_DEST.order_date') }} then delete
    {%- endif %}
{% endmacro %}
