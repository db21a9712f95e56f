{#- The text value at a JSON path (`'$.device.id'`), null when absent. -#}
{% macro json_text(column, path) -%}
    {{ return(adapter.dispatch('json_text', 'cdp')(column, path)) }}
{%- endmacro %}

{% macro default__json_text(column, path) -%}
    json_value({{ column }}, '{{ path }}')
{%- endmacro %}

{% macro duckdb__json_text(column, path) -%}
    json_extract_string({{ column }}, '{{ path }}')
{%- endmacro %}

{% macro snowflake__json_text(column, path) -%}
    json_extract_path_text({{ column }}, '{{ path | replace("$.", "") }}')
{%- endmacro %}

{% macro spark__json_text(column, path) -%}
    get_json_object({{ column }}, '{{ path }}')
{%- endmacro %}
