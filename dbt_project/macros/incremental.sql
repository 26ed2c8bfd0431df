{#- Incremental models read only the rows of cycles they have not seen yet. Every raw row carries the start
    time of the cycle that ingested it (_ingested_at), and a later cycle always starts later, so the newest
    such time in the model itself is its watermark. A full refresh (`ecom rebuild`) reads everything. -#}
{% macro newer_than_watermark(column='_ingested_at', watermark_column=none) -%}
    {%- if is_incremental() -%}
    {{ column }} > (
        select coalesce(max({{ watermark_column or column }}), timestamp'1970-01-01 00:00:00') from {{ this }}
    )
    {%- else -%}
    true
    {%- endif -%}
{%- endmacro %}
