{#- Predictive traits: the moments features are evaluated at, the brands and goals scored, and the columns
    of `profile_predictions` (written by the Dagster asset `profile_predictions`, read here as a source). -#}

{#- The training cutoff: var `predictive_cutoff_days` before the evaluation moment. Features at it predict
    what happened in the label windows after it; features at `as_of` are what gets scored. -#}
{% macro feature_cutoff() -%}
    {{ dbt.dateadd('day', -1 * var('predictive_cutoff_days', 90), cdp.as_of()) }}
{%- endmacro %}

{% macro predictive_brands() -%}
    {{ return(var('brand_affinity_brands', [])) }}
{%- endmacro %}

{% macro predictive_slug(name) -%}
    {{ return(modules.re.sub('[^a-z0-9]+', '_', name | lower) | trim('_')) }}
{%- endmacro %}

{#- Custom predictive goals (var `predictive_goals`), with `where` in the list form of trait filters. The
    Python side validates them (an unknown event fails the code location's load, naming the goal). -#}
{% macro predictive_goals() -%}
    {%- set goals = [] -%}
    {%- for raw in var('predictive_goals', []) or [] -%}
        {%- set where = raw.get('where') or [] -%}
        {%- if where is mapping -%}
            {%- set items = [] -%}
            {%- for property, value in where.items() -%}{%- do items.append({'property': property, 'op': '=', 'value': value}) -%}{%- endfor -%}
            {%- set where = items -%}
        {%- endif -%}
        {%- set filters = [] -%}
        {%- for item in where -%}{%- do filters.append({'property': item.property, 'op': item.get('op', '='), 'value': item.get('value')}) -%}{%- endfor -%}
        {%- do goals.append({'name': cdp.predictive_slug(raw.name), 'event': raw.event, 'filters': filters,
                             'horizon_days': raw.get('horizon_days', 30)}) -%}
    {%- endfor -%}
    {{ return(goals) }}
{%- endmacro %}

{% macro predictive_goal_condition(goal) -%}
    {%- set conditions = ['event_name = ' ~ cdp.trait_literal(goal.event)] -%}
    {%- for item in goal.filters -%}{%- do conditions.append('(' ~ cdp.trait_filter_condition(item) ~ ')') -%}{%- endfor -%}
    {{- conditions | join(' and ') -}}
{%- endmacro %}

{#- Columns of profile_predictions after profile_id, as (name, type), in the order the Python writer uses. -#}
{% macro prediction_columns() -%}
    {%- set columns = [
        ('churn_probability', dbt.type_float()),
        ('purchase_propensity_30d', dbt.type_float()),
        ('predicted_ltv_90d', dbt.type_float()),
    ] -%}
    {%- for brand in cdp.predictive_brands() -%}
        {%- do columns.append(('brand_affinity_' ~ cdp.predictive_slug(brand), dbt.type_float())) -%}
    {%- endfor -%}
    {%- do columns.append(('recommended_products', dbt.type_string())) -%}
    {%- do columns.append(('persona', dbt.type_string())) -%}
    {%- do columns.append(('persona_affinity', dbt.type_float())) -%}
    {%- do columns.append(('persona_scores', dbt.type_string())) -%}
    {%- for goal in cdp.predictive_goals() -%}
        {%- do columns.append((goal.name ~ '_propensity', dbt.type_float())) -%}
    {%- endfor -%}
    {%- for name in var('predictive_extra_columns', []) or [] -%}
        {%- do columns.append((name, dbt.type_float())) -%}
    {%- endfor -%}
    {{ return(columns) }}
{%- endmacro %}

{#- On run start: an empty profile_predictions when no model has scored yet, so profile_traits builds on a
    fresh warehouse (its prediction columns are then null). The Dagster asset replaces it when it publishes. -#}
{% macro ensure_profile_predictions() -%}
    {{ return(adapter.dispatch('ensure_profile_predictions', 'cdp')()) }}
{%- endmacro %}

{% macro default__ensure_profile_predictions() -%}
    {#- The source's relation: each adapter fills in its own database/schema (Spark has no database). -#}
    {%- set relation = source('cdp', 'profile_predictions') -%}
    create table if not exists {{ relation }} (
        profile_id {{ dbt.type_string() }},
        {%- for name, type in cdp.prediction_columns() %}
        {{ name }} {{ type }},
        {%- endfor %}
        scored_at {{ dbt.type_timestamp() }},
        model_run_id {{ dbt.type_string() }}
    )
{%- endmacro %}

{#- Whether `event_at` falls in the `days` up to `moment` (exclusive at the start, inclusive at it), or,
    with days < 0, in the -days after it: the label windows. -#}
{% macro feature_window(event_at, moment, days) -%}
    {%- if days >= 0 -%}
    ({{ event_at }} > {{ dbt.dateadd('day', -1 * days, moment) }} and {{ event_at }} <= {{ moment }})
    {%- else -%}
    ({{ event_at }} > {{ moment }} and {{ event_at }} <= {{ dbt.dateadd('day', -1 * days, moment) }})
    {%- endif -%}
{%- endmacro %}

{#- Spark: the Dagster asset writes profile_predictions into the local DuckDB file and stages a Parquet copy
    (CDP_HOME/spark/staged/profile_predictions, as raw_events); this registers it for Spark with this build's
    columns (dropping an external table keeps its files; a column the copy lacks reads as null; no copy yet
    reads as no rows). Floats are doubles: Spark's `float` is four bytes. -#}
{% macro spark__ensure_profile_predictions() -%}
    {%- set relation = source('cdp', 'profile_predictions') -%}
    {%- set location = env_var('CDP_HOME', '../.cdp') ~ '/spark/staged/profile_predictions' -%}
    {%- set columns = [] -%}
    {%- for name, type in cdp.prediction_columns() -%}
        {%- do columns.append(name ~ ' ' ~ ('double' if type == dbt.type_float() else type)) -%}
    {%- endfor -%}
    {%- if execute -%}
        {%- do run_query('create schema if not exists ' ~ relation.schema) -%}
        {%- do run_query('drop table if exists ' ~ relation) -%}
        {%- do run_query('create table ' ~ relation ~ ' (profile_id string, ' ~ (columns | join(', '))
            ~ ", scored_at timestamp, model_run_id string) using parquet location '" ~ location ~ "'") -%}
    {%- endif -%}
{%- endmacro %}
