{#- The evaluation moment for windows and recency, as a UTC timestamp without time zone (like every
    event timestamp): var `as_of` (an ISO timestamp) or the moment this dbt invocation started, so every
    model of one build (traits, audiences, their history and sizes) agrees on "now". -#}
{% macro as_of() -%}
    {%- if var('as_of') -%}
        cast('{{ var("as_of") }}' as {{ dbt.type_timestamp() }})
    {%- else -%}
        {{ cdp.run_started_at_literal() }}
    {%- endif -%}
{%- endmacro %}

{% macro default__utc_now() -%}
    cast({{ dbt.current_timestamp() }} as {{ dbt.type_timestamp() }})
{%- endmacro %}

{% macro duckdb__utc_now() -%}
    timezone('UTC', now())
{%- endmacro %}

{% macro snowflake__utc_now() -%}
    sysdate()
{%- endmacro %}
