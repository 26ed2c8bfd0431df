{#- KPI rounding of the contract: exact decimal arithmetic, rounded half-up only at the end. -#}
{% macro money(expression) -%}
    cast(round({{ expression }}, 2) as decimal(18, 2))
{%- endmacro %}

{% macro rate(numerator, denominator) -%}
    cast(round(cast({{ numerator }} as decimal(20, 0)) / cast({{ denominator }} as decimal(20, 0)), 4) as decimal(9, 4))
{%- endmacro %}
