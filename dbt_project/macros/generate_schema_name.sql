{#- Models land in the schema their folder names (staging, intermediate, quarantine, marts), not
    "<target schema>_<folder>": the marts are a contract (marts.category_kpis), not a per-developer copy. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {{ custom_schema_name | trim if custom_schema_name is not none else target.schema }}
{%- endmacro %}
