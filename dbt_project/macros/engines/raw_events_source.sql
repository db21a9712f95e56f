{#- The raw_events source where the warehouse does not hold it itself. On DuckDB the loader writes the
    table in place: nothing to do. On Spark the loader stages the accepted events as Parquet under
    CDP_HOME/spark/staged/raw_events; this on-run-start hook registers that folder as `main.raw_events`
    (an external table) and refreshes Spark's file listing, so every build reads the latest load. -#}
{% macro register_raw_events() -%}
    {{ return(adapter.dispatch('register_raw_events', 'cdp')()) }}
{%- endmacro %}

{% macro default__register_raw_events() -%}
{%- endmacro %}

{% macro spark__register_raw_events() -%}
    {%- set relation = source('cdp', 'raw_events') -%}
    {%- set location = env_var('CDP_HOME', '../.cdp') ~ '/spark/staged/raw_events' -%}
    {%- if execute -%}
        {%- do run_query('create schema if not exists ' ~ relation.schema) -%}
        {%- do run_query('create table if not exists ' ~ relation ~ " using parquet location '" ~ location ~ "'") -%}
        {%- do run_query('refresh table ' ~ relation) -%}
    {%- endif -%}
{%- endmacro %}
