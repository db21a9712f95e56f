{#- Dialect differences the identity models need, each behind adapter.dispatch. -#}

{#- A bijection of the 32-bit integers that changes every round (multiply-add, then a murmur-style
    xor-shift finalizer): contraction only needs a fresh, total order of the nodes in each round. -#}
{% macro identity_round_hash(x, round) -%}
    {%- set multiplier = ((2654435761 * (2 * round + 1)) % 2147483648) // 2 * 2 + 1 -%}
    {%- set offset = (40503 * round + 2166136261) % 4294967296 -%}
    {{ return(adapter.dispatch('identity_round_hash', 'cdp')(x, multiplier, offset)) }}
{%- endmacro %}

{% macro duckdb__identity_round_hash(x, multiplier, offset) -%}
    {%- set h0 = "((" ~ x ~ ") * " ~ multiplier ~ " + " ~ offset ~ ") % 4294967296" -%}
    {%- set h1 = "xor(" ~ h0 ~ ", (" ~ h0 ~ ") >> 16)" -%}
    {%- set h2 = "((" ~ h1 ~ ") * 73244475) % 4294967296" -%}
    xor({{ h2 }}, ({{ h2 }}) >> 16)
{%- endmacro %}

{#- Without bit operators: a 16-bit rotation between two odd multiplications is still a bijection. -#}
{% macro default__identity_round_hash(x, multiplier, offset) -%}
    {%- set h0 = "((" ~ x ~ ") * " ~ multiplier ~ " + " ~ offset ~ ") % 4294967296" -%}
    ((((({{ h0 }}) % 65536) * 65536 + cast(floor(({{ h0 }}) / 65536) as bigint)) * 73244475) % 4294967296)
{%- endmacro %}

{#- The `value` of the row with the smallest `key` in the group. -#}
{% macro identity_arg_min(value, key) -%}
    {{ return(adapter.dispatch('identity_arg_min', 'cdp')(value, key)) }}
{%- endmacro %}

{% macro default__identity_arg_min(value, key) -%}
    min_by({{ value }}, {{ key }})
{%- endmacro %}

{% macro duckdb__identity_arg_min(value, key) -%}
    arg_min({{ value }}, {{ key }})
{%- endmacro %}

{% macro identity_arg_max(value, key) -%}
    {{ return(adapter.dispatch('identity_arg_max', 'cdp')(value, key)) }}
{%- endmacro %}

{% macro default__identity_arg_max(value, key) -%}
    max_by({{ value }}, {{ key }})
{%- endmacro %}

{% macro duckdb__identity_arg_max(value, key) -%}
    arg_max({{ value }}, {{ key }})
{%- endmacro %}

{#- True when the whole of `value` matches the regular expression `pattern` (a SQL string literal). -#}
{% macro identity_regex_full_match(value, pattern) -%}
    {{ return(adapter.dispatch('identity_regex_full_match', 'cdp')(value, pattern)) }}
{%- endmacro %}

{% macro default__identity_regex_full_match(value, pattern) -%}
    regexp_like({{ value }}, '^(?:' || {{ pattern }} || ')$')
{%- endmacro %}

{% macro duckdb__identity_regex_full_match(value, pattern) -%}
    regexp_full_match({{ value }}, {{ pattern }})
{%- endmacro %}

{% macro postgres__identity_regex_full_match(value, pattern) -%}
    ({{ value }} ~ ('^(?:' || {{ pattern }} || ')$'))
{%- endmacro %}

{#- `value` with every match of `pattern` (a plain regex, no quotes) replaced by `replacement`. -#}
{% macro identity_regex_replace_all(value, pattern, replacement) -%}
    {{ return(adapter.dispatch('identity_regex_replace_all', 'cdp')(value, pattern, replacement)) }}
{%- endmacro %}

{% macro default__identity_regex_replace_all(value, pattern, replacement) -%}
    regexp_replace({{ value }}, '{{ pattern }}', '{{ replacement }}', 'g')
{%- endmacro %}

{% macro snowflake__identity_regex_replace_all(value, pattern, replacement) -%}
    regexp_replace({{ value }}, '{{ pattern }}', '{{ replacement }}')
{%- endmacro %}

{#- `value` with every non-digit removed. -#}
{% macro identity_digits_only(value) -%}
    {{ return(identity_regex_replace_all(value, '[^0-9]', '')) }}
{%- endmacro %}

{#- One row per entry of context.externalIds: (event_id, event_at, external_type, external_id). -#}
{% macro identity_external_ids(events) -%}
    {{ return(adapter.dispatch('identity_external_ids', 'cdp')(events)) }}
{%- endmacro %}

{% macro duckdb__identity_external_ids(events) -%}
    select event_id, event_at, json_extract_string(entry, '$.type') as external_type,
        json_extract_string(entry, '$.id') as external_id
    from (
        select event_id, event_at, unnest(json_extract(context, '$.externalIds[*]')) as entry
        from {{ events }}
        where json_type(context, '$.externalIds') = 'ARRAY'
    ) as entries
{%- endmacro %}

{% macro postgres__identity_external_ids(events) -%}
    select event_id, event_at, entry ->> 'type' as external_type, entry ->> 'id' as external_id
    from {{ events }}
    cross join lateral jsonb_array_elements(
        case when jsonb_typeof(cast(context as jsonb) -> 'externalIds') = 'array'
            then cast(context as jsonb) -> 'externalIds' else '[]'::jsonb end
    ) as entries(entry)
{%- endmacro %}

{% macro snowflake__identity_external_ids(events) -%}
    select event_id, event_at, entries.value:type::string as external_type, entries.value:id::string as external_id
    from {{ events }}, lateral flatten(input => parse_json(context):externalIds) as entries
{%- endmacro %}

{#- The continuous `fraction` percentile of `column` over the group. -#}
{% macro identity_percentile(column, fraction) -%}
    {{ return(adapter.dispatch('identity_percentile', 'cdp')(column, fraction)) }}
{%- endmacro %}

{% macro default__identity_percentile(column, fraction) -%}
    percentile_cont({{ fraction }}) within group (order by {{ column }})
{%- endmacro %}

{% macro duckdb__identity_percentile(column, fraction) -%}
    quantile_cont({{ column }}, {{ fraction }})
{%- endmacro %}
