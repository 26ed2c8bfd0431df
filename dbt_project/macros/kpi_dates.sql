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

{#- What a KPI mart's run recomputes and records: {'dates': the order dates to recompute as 'YYYY-MM-DD'
    strings, none for every date (first build, full refresh, unit tests); 'newest': the newest
    fct_order_items._changed_at not yet absorbed, none when no item changed}. It is read once, when the
    model's SQL is compiled (a catalog read and one query), and that SQL carries it in a comment
    (carry_recompute_plan) for the merge and the post-hook, which run later in a context of their own:
    reading it again cost up to five more statements per mart in every cycle (docs/benchmarks.md). -#}
{% macro recompute_plan() %}
    {%- if not (execute and model.resource_type == 'model') -%}
        {{ return({'dates': none, 'newest': none}) }}
    {%- endif -%}
    {%- set carried = modules.re.search('/\* recompute plan: (.*?) \*/', model.get('compiled_code') or '') -%}
    {%- if carried -%}
        {{ return(fromjson(carried.group(1))) }}
    {%- endif -%}
    {%- if not is_incremental() -%}
        {%- set newest = run_query(
            "select cast(max(_changed_at) as string) from " ~ ref('fct_order_items')
        ).columns[0].values()[0] -%}
        {{ return({'dates': none, 'newest': newest}) }}
    {%- endif -%}
    {%- set backfill = backfill_dates() -%}
    {%- set query -%}
        select
            cast(max(_changed_at) as string) as newest,
            concat_ws(',', array_sort(collect_set(cast(order_date as string)))) as dates
        from (
            select _changed_at, explode_outer(_order_dates_seen) as order_date
            from {{ ref('fct_order_items') }}
            where _changed_at > timestamp'{{ item_changes_absorbed(this) }}'
            {%- if backfill %}
            union all
            select null, explode(sequence(date'{{ backfill[0] }}', date'{{ backfill[1] }}'))
            {%- endif %}
        )
    {%- endset -%}
    {%- set found = run_query(query).rows[0] -%}
    {{ return({'dates': found[1].split(',') if found[1] else [], 'newest': found[0]}) }}
{% endmacro %}

{%- macro carry_recompute_plan(plan) -%}
/* recompute plan: {{ tojson(plan) }} */
{%- endmacro %}

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
    {%- set newest = recompute_plan().newest -%}
    {%- if newest -%}
    alter table {{ this }} set tblproperties ('ecom.item_changes_through' = '{{ newest }}')
    {%- endif -%}
{% endmacro %}
