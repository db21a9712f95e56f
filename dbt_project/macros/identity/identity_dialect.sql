{#- Dialect differences the identity models need, each behind adapter.dispatch. -#}

{#- A bijection of the 31-bit integers that changes every round: contraction only needs a fresh,
    well-mixed total order of the nodes in each round (a weak one costs rounds on stars and paths).
    Multiply-add with a per-round odd multiplier, then a murmur-style finalizer, all mod 2^31 so that
    every product stays below 2^62 and the round key (hash * 2^31 + node) fits a bigint. -#}
{% macro identity_round_hash(x, round) -%}
    {%- set multiplier = ((2654435761 * (2 * round + 1)) % 2147483648) // 2 * 2 + 1 -%}
    {%- set offset = (40503 * round + 2166136261) % 2147483648 -%}
    {{ return(adapter.dispatch('identity_round_hash', 'cdp')(x, multiplier, offset)) }}
{%- endmacro %}

{#- h0 = x * m + o; h1 = (h0 xor h0 >> 16) * c; h1 xor h1 >> 15 (each step a bijection mod 2^31).
    The text repeats h0 and h1; DuckDB evaluates each common subexpression once. -#}
{% macro duckdb__identity_round_hash(x, multiplier, offset) -%}
    {%- set h0 = "((" ~ x ~ ") * " ~ multiplier ~ " + " ~ offset ~ ") % 2147483648" -%}
    {%- set h1 = "(xor(" ~ h0 ~ ", (" ~ h0 ~ ") >> 16) * 1935347297) % 2147483648" -%}
    xor({{ h1 }}, ({{ h1 }}) >> 15)
{%- endmacro %}

{#- The same bijection as DuckDB's (so both engines run the same rounds), with Spark's bit operators. -#}
{% macro spark__identity_round_hash(x, multiplier, offset) -%}
    {%- set h0 = "((" ~ x ~ ") * " ~ multiplier ~ " + " ~ offset ~ ") % 2147483648" -%}
    {%- set h1 = "(((" ~ h0 ~ ") ^ shiftright(" ~ h0 ~ ", 16)) * 1935347297) % 2147483648" -%}
    (({{ h1 }}) ^ shiftright({{ h1 }}, 15))
{%- endmacro %}

{#- Without bit operators: a rotation (low 16 bits over high 15) between two odd multiplications is
    still a bijection of the 31-bit integers. -#}
{% macro default__identity_round_hash(x, multiplier, offset) -%}
    {%- set h0 = "((" ~ x ~ ") * " ~ multiplier ~ " + " ~ offset ~ ") % 2147483648" -%}
    ((((({{ h0 }}) % 65536) * 32768 + cast(floor(({{ h0 }}) / 65536) as bigint)) * 1935347297) % 2147483648)
{%- endmacro %}

{#- Scratch tables of an iterative model, named <model>__<suffix>. On DuckDB they are temporary tables
    (in memory, private to the model's connection, gone with it); elsewhere (Spark too) tables beside the
    model: Spark's cached temporary views would not do, as a view's plan still reads the scratch tables
    of earlier rounds that the loop drops, and the anchor loop inserts into one.
    The model drops the ones it still reads in a post-hook. -#}
{% macro identity_scratch_relation(suffix) -%}
    {{ return(adapter.dispatch('identity_scratch_relation', 'cdp')(suffix)) }}
{%- endmacro %}

{% macro default__identity_scratch_relation(suffix) -%}
    {{ return(this.schema ~ '.' ~ this.identifier ~ '__' ~ suffix) }}
{%- endmacro %}

{% macro duckdb__identity_scratch_relation(suffix) -%}
    {{ return('temp.main.' ~ this.identifier ~ '__' ~ suffix) }}
{%- endmacro %}

{#- Creates (or replaces) the scratch table `suffix` as `sql` and returns its row count. -#}
{% macro identity_create_scratch_table(suffix, sql) -%}
    {{ return(adapter.dispatch('identity_create_scratch_table', 'cdp')(suffix, sql)) }}
{%- endmacro %}

{% macro default__identity_create_scratch_table(suffix, sql) -%}
    {%- set relation = identity_scratch_relation(suffix) -%}
    {%- do run_query("drop table if exists " ~ relation) -%}
    {%- do run_query("create table " ~ relation ~ " as " ~ sql) -%}
    {{ return(run_query("select count(*) from " ~ relation).columns[0].values()[0]) }}
{%- endmacro %}

{#- DuckDB's create-as answers with the number of rows it wrote: one statement, no count query. -#}
{% macro duckdb__identity_create_scratch_table(suffix, sql) -%}
    {%- set name = identity_scratch_relation(suffix).split('.')[-1] -%}
    {{ return(run_query("create or replace temporary table " ~ name ~ " as " ~ sql).columns[0].values()[0]) }}
{%- endmacro %}

{#- The `value` of the row with the smallest `key` in the group; on DuckDB ties go to the smallest value,
    so rebuilds agree. -#}
{% macro identity_arg_min(value, key) -%}
    {{ return(adapter.dispatch('identity_arg_min', 'cdp')(value, key)) }}
{%- endmacro %}

{% macro default__identity_arg_min(value, key) -%}
    min_by({{ value }}, {{ key }})
{%- endmacro %}

{% macro duckdb__identity_arg_min(value, key) -%}
    arg_min({{ value }}, ({{ key }}, {{ value }}))
{%- endmacro %}

{#- Spark orders structs field by field: ties on `key` go to the smallest value, as on DuckDB. -#}
{% macro spark__identity_arg_min(value, key) -%}
    min_by({{ value }}, named_struct('key', {{ key }}, 'value', {{ value }}))
{%- endmacro %}

{% macro identity_arg_max(value, key) -%}
    {{ return(adapter.dispatch('identity_arg_max', 'cdp')(value, key)) }}
{%- endmacro %}

{% macro default__identity_arg_max(value, key) -%}
    max_by({{ value }}, {{ key }})
{%- endmacro %}

{#- Ties on `key` go to the largest value on both engines (arg_max alone picks any), so builds agree. -#}
{% macro duckdb__identity_arg_max(value, key) -%}
    arg_max({{ value }}, ({{ key }}, {{ value }})) filter (where {{ key }} is not null)
{%- endmacro %}

{% macro spark__identity_arg_max(value, key) -%}
    max_by({{ value }}, case when {{ key }} is not null then named_struct('key', {{ key }}, 'value', {{ value }}) end)
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

{#- Spark's regexp_replace replaces every match; its fourth argument is a position, not flags. -#}
{% macro spark__identity_regex_replace_all(value, pattern, replacement) -%}
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

{#- Entries stay JSON text (from_json into array<string>), so ids written as numbers read as DuckDB reads them. -#}
{% macro spark__identity_external_ids(events) -%}
    select event_id, event_at, get_json_object(entry, '$.type') as external_type,
        get_json_object(entry, '$.id') as external_id
    from (
        select event_id, event_at, explode(from_json(external_ids, 'array<string>')) as entry
        from (
            select event_id, event_at, get_json_object(context, '$.externalIds') as external_ids
            from {{ events }}
        ) as found
        where substr(ltrim(external_ids), 1, 1) = '['
    ) as entries
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

{#- `value` without the leading characters in `characters` (a SQL string literal). -#}
{% macro identity_ltrim(value, characters) -%}
    {{ return(adapter.dispatch('identity_ltrim', 'cdp')(value, characters)) }}
{%- endmacro %}

{% macro default__identity_ltrim(value, characters) -%}
    ltrim({{ value }}, {{ characters }})
{%- endmacro %}

{#- Spark's two-argument ltrim takes the characters first. -#}
{% macro spark__identity_ltrim(value, characters) -%}
    ltrim({{ characters }}, {{ value }})
{%- endmacro %}
