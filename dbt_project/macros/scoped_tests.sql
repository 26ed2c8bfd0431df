{#- dbt's where-config subquery, plus the scope a cycle may give a key test: only the rows its merge could
    have written since the test last passed (orchestration/passed_tests.py, data_test_scopes). The cycle
    passes scopes in the environment, so that a new scope each cycle costs dbt no parse (new --vars
    would); they are read only when a test runs, never while dbt parses the project. Without them
    (`dbt test`, a rebuild, a backfill) every test reads every row. (dbt calls this macro where the
    project's other macros are out of reach, so it is one piece.) -#}
{% macro spark__get_where_subquery(relation) -%}
    {%- set conditions = [config.get('where')] if config.get('where') else [] -%}
    {%- if execute -%}
        {%- set scope = fromjson(env_var('ECOM_DATA_TEST_SCOPES', '{}')).get(model.unique_id) -%}
        {%- if scope -%}
            {%- do conditions.append(scope['column'] ~ " > timestamp'" ~ scope['after'] ~ "'") -%}
        {%- endif -%}
    {%- endif -%}
    {%- if conditions -%}
        {%- do return("(select * from " ~ relation ~ " where " ~ conditions | join(' and ') ~ ") dbt_subquery") -%}
    {%- endif -%}
    {%- do return(relation) -%}
{%- endmacro %}
