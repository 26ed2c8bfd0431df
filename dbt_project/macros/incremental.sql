{#- Incremental models read only the rows of cycles they have not seen yet. Every raw row carries the start
    time of the cycle that ingested it (_ingested_at), and a later cycle always starts later, so the newest
    such time in the model itself is its watermark. A full refresh (`ecom rebuild`) reads everything. -#}
{% macro newer_than_watermark(column='_ingested_at', watermark_column=none) -%}
    {%- if is_incremental() -%}
    {{ column }} > {{ watermark(this, watermark_column or column) }}
    {%- else -%}
    true
    {%- endif -%}
{%- endmacro %}

{#- The newest value of `column` in `relation`, as a timestamp literal when the model runs: Delta skips
    every file whose statistics end before a literal, but not before a scalar subquery, which would scan the
    whole upstream table each cycle. A unit test's `this` is a fixture, not a table: the subquery reads it. -#}
{% macro watermark(relation, column) -%}
    {%- set newest = "coalesce(max(" ~ column ~ "), timestamp'1970-01-01 00:00:00')" -%}
    {%- if execute and model.resource_type == 'model' -%}
        {%- set found = run_query("select cast(" ~ newest ~ " as string) from " ~ relation) -%}
        timestamp'{{ found.columns[0].values()[0] }}'
    {%- else -%}
        (select {{ newest }} from {{ relation }})
    {%- endif -%}
{%- endmacro %}

{#- The rows of `rows` whose key is in `changed` when the model runs incrementally, all of them otherwise. -#}
{% macro rows_with_changed_keys(rows, changed, key) -%}
    {%- if is_incremental() -%}
    select {{ rows }}.* from {{ rows }} left semi join {{ changed }} on {{ rows }}.{{ key }} = {{ changed }}.{{ key }}
    {%- else -%}
    select * from {{ rows }}
    {%- endif -%}
{%- endmacro %}

{#- dbt-spark's merge, with four changes. A model configured with delete_unrecomputed_dates drops the rows of
    the dates it recomputed that the new results no longer hold (a KPI row left without counted items).
    A model configured with prune_merge_by (a timestamp column of its unique key, mostly growing from one
    delivery to the next: the landing time) merges only into the target files that can hold the new rows'
    lowest value or later: a row that matches has the same value, so the result is the same, and Delta
    skips the files of earlier deliveries instead of joining the whole table (a file landed out of order
    is only skipped less). A merge with nothing to merge or delete is not run: Delta would still plan
    it and join the target, seconds per model in every cycle that did not change its inputs. And it sets
    and inserts every column by name (`*`) where dbt-spark names them, which costs a `describe` of the
    target per merge. -#}
{% macro spark__get_merge_sql(target, source, unique_key, dest_columns, incremental_predicates) %}
    {%- set dates = recompute_plan().dates if config.get('delete_unrecomputed_dates') else none -%}
    {%- set pruned_by = config.get('prune_merge_by') -%}
    {%- set predicates = (incremental_predicates or []) + [] -%}
    {%- if pruned_by -%}
        {%- do check_merge_pruning(pruned_by, unique_key) -%}
        {%- set has_rows, lowest = rows_and_lowest(source, pruned_by) -%}
        {%- if lowest is not none -%}
            {%- do predicates.append("DBT_INTERNAL_DEST." ~ pruned_by ~ " >= timestamp'" ~ lowest ~ "'") -%}
        {%- endif -%}
    {%- elif dates is not none -%}
        {#- The model's rows are those of these dates: none without a date. -#}
        {%- set has_rows = dates | length > 0 -%}
    {%- else -%}
        {%- set has_rows = relation_has_rows(source) -%}
    {%- endif -%}
    {%- if has_rows -%}
        {%- for key in ([unique_key] if unique_key is string else unique_key) -%}
            {%- do predicates.append("DBT_INTERNAL_SOURCE." ~ key ~ " = DBT_INTERNAL_DEST." ~ key) -%}
        {%- endfor %}
    merge into {{ target }} as DBT_INTERNAL_DEST
    using {{ source }} as DBT_INTERNAL_SOURCE
    on {{ predicates | join(' and ') }}
    when matched then update set *
    when not matched then insert *
        {%- if dates %}
    when not matched by source and {{ order_date_in(dates, 'DBT_INTERNAL_DEST.order_date') }} then delete
        {%- endif %}
    {%- else -%}
    select 'nothing changed: no merge into {{ target }}' as skipped
    {%- endif %}
{% endmacro %}

{#- Both probes name their column merge_probe: benchmarks/dbt_statements.py counts them by it. -#}
{% macro relation_has_rows(relation) %}
    {{ return(run_query('select 1 as merge_probe from ' ~ relation ~ ' limit 1').rows | length > 0) }}
{% endmacro %}

{#- The pruning condition keeps the result only for a column every match has equal, and the unmatched rows
    it leaves out of the target must not count as "not matched by source" for a delete. -#}
{% macro check_merge_pruning(column, unique_key) %}
    {%- set keys = [unique_key] if unique_key is string else unique_key or [] -%}
    {%- if column not in keys -%}
        {{ exceptions.raise_compiler_error(model.name ~ ": prune_merge_by '" ~ column ~ "' must be a column of its unique_key " ~ keys) }}
    {%- endif -%}
    {%- if config.get('delete_unrecomputed_dates') -%}
        {{ exceptions.raise_compiler_error(model.name ~ ": prune_merge_by cannot go with delete_unrecomputed_dates") }}
    {%- endif -%}
{% endmacro %}

{#- Whether relation has rows, and the lowest value of a timestamp column in them as text (none if all null). -#}
{% macro rows_and_lowest(relation, column) %}
    {%- set found = run_query('select count(*) > 0 as merge_probe, cast(min(' ~ column ~ ') as string) from ' ~ relation).rows[0] -%}
    {{ return((found[0], found[1])) }}
{% endmacro %}
