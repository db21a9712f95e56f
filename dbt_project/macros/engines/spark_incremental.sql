{#- `delete+insert` on Spark's Parquet tables, which cannot delete rows: the rows of the target whose
    unique key the new batch does not hold, plus the batch, written to a scratch table, then put back with
    `insert overwrite` (a path cannot be overwritten while the same query reads it, hence the scratch).
    dbt-spark only knows append, insert_overwrite and merge (Delta, Iceberg, Hudi); the models keep the
    strategy they state and every engine honours it. -#}
{% macro dbt_spark_validate_get_incremental_strategy(raw_strategy, file_format) -%}
    {%- if raw_strategy == 'delete+insert' -%}
        {{ return(raw_strategy) }}
    {%- endif -%}
    {{ return(dbt.dbt_spark_validate_get_incremental_strategy(raw_strategy, file_format)) }}
{%- endmacro %}

{% macro dbt_spark_get_incremental_sql(strategy, source, target, existing, unique_key, incremental_predicates) -%}
    {%- if strategy != 'delete+insert' -%}
        {{ return(dbt.dbt_spark_get_incremental_sql(strategy, source, target, existing, unique_key, incremental_predicates)) }}
    {%- endif -%}
    {%- set keys = [unique_key] if unique_key is string else unique_key -%}
    {%- if not keys -%}
        {%- do exceptions.raise_compiler_error("delete+insert needs a unique_key (model " ~ target ~ ")") -%}
    {%- endif -%}
    {%- set columns = adapter.get_columns_in_relation(target) | map(attribute='quoted') | join(', ') -%}
    {%- set scratch = target.incorporate(path={"identifier": target.identifier ~ '__dbt_rewrite'}) -%}
    {%- set matches = [] -%}
    {%- for key in keys -%}{%- do matches.append('batch.' ~ key ~ ' <=> kept.' ~ key) -%}{%- endfor -%}
    {%- do run_query('drop table if exists ' ~ scratch) -%}
    {%- do run_query('create table ' ~ scratch ~ ' using parquet as '
        ~ 'select ' ~ columns ~ ' from ' ~ target ~ ' as kept where not exists (select 1 from ' ~ source
        ~ ' as batch where ' ~ matches | join(' and ') ~ ') union all select ' ~ columns ~ ' from ' ~ source) -%}
    {%- do run_query('insert overwrite table ' ~ target ~ ' select ' ~ columns ~ ' from ' ~ scratch) -%}
    {%- do run_query('drop table if exists ' ~ scratch) -%}
    {{ return('refresh table ' ~ target) }}
{%- endmacro %}

{#- How a model that reads its own earlier rows back (profile_merges) is materialised. A table everywhere
    it can be rebuilt from a query that reads the old table; Spark's table materialisation drops the
    Parquet table first, so there it appends each build's new rows (incremental, kept by --full-refresh). -#}
{% macro self_reading_table_config() -%}
    {{ return(adapter.dispatch('self_reading_table_config', 'cdp')()) }}
{%- endmacro %}

{% macro default__self_reading_table_config() -%}
    {{ return({'materialized': 'table'}) }}
{%- endmacro %}

{% macro spark__self_reading_table_config() -%}
    {{ return({'materialized': 'incremental', 'incremental_strategy': 'append', 'full_refresh': false}) }}
{%- endmacro %}
