{#- dbt.dateadd on Spark, exact: dbt-spark's own goes through unix seconds (dropping the fraction of a
    second, and turning timestamps without time zone into local ones), so windows and funnel gaps would
    cut a few milliseconds off what DuckDB computes. timestampadd keeps microseconds and the type. The
    models still call `dbt.dateadd`; dispatch finds this implementation in the root project first. -#}
{% macro spark__dateadd(datepart, interval, from_date_or_timestamp) -%}
    timestampadd({{ datepart }}, {{ interval }}, {{ from_date_or_timestamp }})
{%- endmacro %}
