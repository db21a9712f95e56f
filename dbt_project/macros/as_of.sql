{#- The evaluation moment for windows and recency, as a UTC timestamp without time zone (like every
    event timestamp): var `as_of`, else the environment variable CDP_AS_OF (what Dagster and `cdp run
    --as-of` set), else the moment this dbt invocation started, so every model of one build (traits,
    audiences, their history and sizes) agrees on "now".
    CDP_AS_OF is read only while executing: dbt then never records it for partial parsing, so a backfill's
    builds at different moments reuse one parse instead of paying a full one each (as a changed --vars
    does). -#}
{% macro as_of() -%}
    {%- set value = var('as_of') or (env_var('CDP_AS_OF', '') if execute else '') -%}
    {%- if value -%}
        cast('{{ cdp.checked_as_of(value) }}' as {{ dbt.type_timestamp() }})
    {%- else -%}
        {{ cdp.run_started_at_literal() }}
    {%- endif -%}
{%- endmacro %}

{#- The value goes into SQL as a literal: only an ISO date or timestamp gets there. -#}
{% macro checked_as_of(value) -%}
    {%- set text = value | string | trim -%}
    {%- set iso = '[0-9]{4}-[0-9]{2}-[0-9]{2}([ T][0-9]{2}:[0-9]{2}(:[0-9]{2}([.][0-9]{1,6})?)?)?' -%}
    {%- if not modules.re.fullmatch(iso, text) -%}
        {{ exceptions.raise_compiler_error(
            "as_of must be an ISO date or timestamp such as 2026-03-01 00:00:00 (UTC), got '" ~ text ~ "'") }}
    {%- endif -%}
    {{- text -}}
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
