{#- The moment this dbt invocation started, as a UTC timestamp literal: every model of one build stamps
    the same value, so state tables can tell which rows one build wrote. -#}
{% macro run_started_at_literal() -%}
    cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S.%f") }}' as {{ dbt.type_timestamp() }})
{%- endmacro %}
