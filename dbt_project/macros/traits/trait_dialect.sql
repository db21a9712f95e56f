{#- Dialect differences of trait SQL, dispatched so models stay portable: DuckDB here, a default that
    suits engines with max_by/min_by (Snowflake, Databricks, Trino). -#}

{#- The value of the latest event (by `order_by`) among those meeting `condition` that carry a value. -#}
{% macro last_value_by(value, order_by, condition) -%}
    {{ return(adapter.dispatch('last_value_by', 'cdp')(value, order_by, condition)) }}
{%- endmacro %}

{% macro default__last_value_by(value, order_by, condition) -%}
    max_by({{ value }}, case when ({{ condition }}) and {{ value }} is not null then {{ order_by }} end)
{%- endmacro %}

{% macro duckdb__last_value_by(value, order_by, condition) -%}
    arg_max({{ value }}, ({{ order_by }}, {{ value }})) filter (where ({{ condition }}) and {{ value }} is not null)
{%- endmacro %}

{#- Ties on `order_by` go to the largest value (DuckDB's arg_max alone picks any), so engines agree. -#}
{% macro spark__last_value_by(value, order_by, condition) -%}
    max_by({{ value }}, case when ({{ condition }}) and {{ value }} is not null
        then named_struct('order_by', {{ order_by }}, 'value', {{ value }}) end)
{%- endmacro %}

{#- The value of the earliest such event. -#}
{% macro first_value_by(value, order_by, condition) -%}
    {{ return(adapter.dispatch('first_value_by', 'cdp')(value, order_by, condition)) }}
{%- endmacro %}

{% macro default__first_value_by(value, order_by, condition) -%}
    min_by({{ value }}, case when ({{ condition }}) and {{ value }} is not null then {{ order_by }} end)
{%- endmacro %}

{% macro duckdb__first_value_by(value, order_by, condition) -%}
    arg_min({{ value }}, ({{ order_by }}, {{ value }})) filter (where ({{ condition }}) and {{ value }} is not null)
{%- endmacro %}

{#- Ties on `order_by` go to the smallest value. -#}
{% macro spark__first_value_by(value, order_by, condition) -%}
    min_by({{ value }}, case when ({{ condition }}) and {{ value }} is not null
        then named_struct('order_by', {{ order_by }}, 'value', {{ value }}) end)
{%- endmacro %}

{#- The distinct non-null values among events meeting `condition`, sorted, as an array. -#}
{% macro unique_list(value, condition) -%}
    {{ return(adapter.dispatch('unique_list', 'cdp')(value, condition)) }}
{%- endmacro %}

{% macro default__unique_list(value, condition) -%}
    array_sort(array_agg(distinct case when {{ condition }} then {{ value }} end))
{%- endmacro %}

{% macro duckdb__unique_list(value, condition) -%}
    list_sort(list(distinct {{ value }}) filter (where ({{ condition }}) and {{ value }} is not null))
{%- endmacro %}

{#- Spark's collect_list over no value is an empty array; DuckDB's list is null: keep null. -#}
{% macro spark__unique_list(value, condition) -%}
    case when count(case when ({{ condition }}) and {{ value }} is not null then 1 end) > 0
        then array_sort(collect_set(case when {{ condition }} then {{ value }} end)) end
{%- endmacro %}

{#- SQL listing the distinct top-level keys of a JSON column (one column `json_key`). -#}
{% macro json_keys_query(relation, column, where) -%}
    {{ return(adapter.dispatch('json_keys_query', 'cdp')(relation, column, where)) }}
{%- endmacro %}

{% macro default__json_keys_query(relation, column, where) -%}
    select distinct keys.value::string as json_key
    from {{ relation }}, lateral flatten(input => object_keys({{ column }})) as keys
    where {{ where }}
{%- endmacro %}

{% macro duckdb__json_keys_query(relation, column, where) -%}
    select distinct unnest(json_keys({{ column }})) as json_key
    from {{ relation }}
    where {{ where }} and json_type({{ column }}) = 'OBJECT'
{%- endmacro %}

{% macro spark__json_keys_query(relation, column, where) -%}
    select distinct json_key
    from (select explode(json_object_keys({{ column }})) as json_key from {{ relation }} where {{ where }}) as keys
{%- endmacro %}

{#- Every column of `relation_alias` but `columns` (SQL traits bring columns profile_traits cannot
    know while dbt parses it). -#}
{% macro star_except(relation_alias, columns) -%}
    {{ return(adapter.dispatch('star_except', 'cdp')(relation_alias, columns)) }}
{%- endmacro %}

{% macro default__star_except(relation_alias, columns) -%}
    {{ relation_alias }}.* exclude ({{ columns | join(', ') }})
{%- endmacro %}

{% macro spark__star_except(relation_alias, columns) -%}
    {{ relation_alias }}.* except ({{ columns | join(', ') }})
{%- endmacro %}

{% macro bigquery__star_except(relation_alias, columns) -%}
    {{ relation_alias }}.* except ({{ columns | join(', ') }})
{%- endmacro %}

{#- A cast that yields null for values of the wrong shape (a revenue of "n/a"), so one bad event never
    fails the build; dbt's own safe_cast has no DuckDB implementation. -#}
{% macro try_cast(field, type) -%}
    {{ return(adapter.dispatch('try_cast', 'cdp')(field, type)) }}
{%- endmacro %}

{% macro default__try_cast(field, type) -%}
    {{ dbt.safe_cast(field, type) }}
{%- endmacro %}

{% macro duckdb__try_cast(field, type) -%}
    try_cast({{ field }} as {{ type }})
{%- endmacro %}

{% macro spark__try_cast(field, type) -%}
    try_cast({{ field }} as {{ type }})
{%- endmacro %}
