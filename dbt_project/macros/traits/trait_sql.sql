{#- SQL for one declared trait over the resolved events (one row per event, `profile_id` attached).
    Every trait is an aggregate over the profile's events, so all of them share one `group by profile_id`
    pass; only most-frequent values need their own (value counts per profile). -#}

{% macro trait_literal(value) -%}
    {%- if value is none -%}null
    {%- elif value is boolean -%}{{ 'true' if value else 'false' }}
    {%- elif value is number -%}{{ value }}
    {%- else -%}'{{ value | string | replace("'", "''") }}'
    {%- endif -%}
{%- endmacro %}

{#- The SQL type a trait's value is read as. -#}
{% macro trait_sql_type(value_type) -%}
    {%- if value_type == 'number' -%}{{ dbt.type_numeric() }}
    {%- elif value_type == 'integer' -%}{{ dbt.type_bigint() }}
    {%- elif value_type == 'timestamp' -%}{{ dbt.type_timestamp() }}
    {%- elif value_type == 'boolean' -%}{{ dbt.type_boolean() }}
    {%- else -%}{{ dbt.type_string() }}
    {%- endif -%}
{%- endmacro %}

{#- A property of the event (JSON path into `properties`) as text. -#}
{% macro trait_property_text(path) -%}
    {{ cdp.json_text('properties', '$.' ~ path) }}
{%- endmacro %}

{#- The value a trait aggregates, cast to its value type (unparseable values become null, never an error). -#}
{% macro trait_value(trait) -%}
    {%- if trait.column -%}
        {%- if trait.value_type in ['timestamp'] and trait.column in ['event_at', 'received_at'] -%}{{ trait.column }}
        {%- else -%}{{ cdp.try_cast(trait.column, cdp.trait_sql_type(trait.value_type)) }}
        {%- endif -%}
    {%- elif trait.property -%}
        {%- if trait.value_type == 'text' -%}{{ cdp.trait_property_text(trait.property) }}
        {%- else -%}{{ cdp.try_cast(cdp.trait_property_text(trait.property), cdp.trait_sql_type(trait.value_type)) }}
        {%- endif -%}
    {%- else -%}1
    {%- endif -%}
{%- endmacro %}

{#- One property filter as a condition. -#}
{% macro trait_filter_condition(item) -%}
    {%- set text = cdp.trait_property_text(item.property) -%}
    {%- set numeric = item.value is number and item.value is not boolean -%}
    {%- set operand = cdp.try_cast(text, dbt.type_numeric()) if numeric else text -%}
    {%- set value = (item.value | lower if item.value is boolean else item.value) -%}
    {%- if item.op == 'exists' -%}{{ text }} is not null
    {%- elif item.op == 'not_exists' -%}{{ text }} is null
    {%- elif item.op == 'contains' -%}{{ text }} like '%{{ item.value | string | replace("'", "''") }}%'
    {%- elif item.op in ['in', 'not_in'] -%}
        {{ text }} {{ 'not ' if item.op == 'not_in' else '' }}in ({% for one in item.value %}{{ cdp.trait_literal(one | string) }}{% if not loop.last %}, {% endif %}{% endfor %})
    {%- else -%}
        {{ operand }} {{ '<>' if item.op == '!=' else item.op }} {{ cdp.trait_literal(value if numeric else value | string) }}
    {%- endif -%}
{%- endmacro %}

{#- Whether an event counts for a trait: its event name, its window, its property filters. -#}
{% macro trait_condition(trait) -%}
    {%- set conditions = [] -%}
    {%- if trait.events != ['*'] -%}
        {%- do conditions.append('event_name in (' ~ cdp._event_list(trait.events) ~ ')') -%}
    {%- endif -%}
    {%- if trait.window_days -%}
        {%- do conditions.append('event_at > ' ~ dbt.dateadd('day', -trait.window_days, cdp.as_of())) -%}
        {%- do conditions.append('event_at <= ' ~ cdp.as_of()) -%}
    {%- elif trait.between -%}
        {%- do conditions.append("event_at >= cast('" ~ trait.between[0] ~ "' as " ~ dbt.type_timestamp() ~ ")") -%}
        {%- do conditions.append('event_at < ' ~ dbt.dateadd('day', 1, "cast('" ~ trait.between[1] ~ "' as " ~ dbt.type_timestamp() ~ ")")) -%}
    {%- endif -%}
    {%- for item in trait.filters -%}
        {%- do conditions.append('(' ~ cdp.trait_filter_condition(item) ~ ')') -%}
    {%- endfor -%}
    {{- conditions | join(' and ') if conditions else '1 = 1' -}}
{%- endmacro %}

{% macro _event_list(events) -%}
    {%- for event in events -%}{{ cdp.trait_literal(event | string) }}{% if not loop.last %}, {% endif %}{%- endfor -%}
{%- endmacro %}

{#- The aggregate computing a trait in the shared per-profile pass (most_frequent is computed apart). -#}
{% macro trait_aggregate(trait) -%}
    {%- set condition = cdp.trait_condition(trait) -%}
    {%- set value = cdp.trait_value(trait) -%}
    {%- if trait.type == 'counter' -%}
        count(case when {{ condition }} then 1 end)
    {%- elif trait.type == 'exists' -%}
        count(case when {{ condition }} then 1 end) > 0
    {%- elif trait.type in ['sum', 'avg', 'min', 'max'] -%}
        {{ trait.type }}(case when {{ condition }} then {{ value }} end)
    {%- elif trait.type == 'first' -%}
        {{ cdp.first_value_by(value, 'event_at', condition) }}
    {%- elif trait.type == 'last' -%}
        {{ cdp.last_value_by(value, 'event_at', condition) }}
    {%- elif trait.type == 'unique_list' -%}
        {{ cdp.unique_list(value, condition) }}
    {%- elif trait.type == 'unique_list_count' -%}
        count(distinct case when {{ condition }} then {{ value }} end)
    {%- elif trait.type == 'days_since_last' -%}
        {{ dbt.datediff('max(case when ' ~ condition ~ ' then event_at end)', cdp.as_of(), 'day') }}
    {%- elif trait.type == 'days_since_first' -%}
        {{ dbt.datediff('min(case when ' ~ condition ~ ' then event_at end)', cdp.as_of(), 'day') }}
    {%- else -%}
        {{ exceptions.raise_compiler_error("trait '" ~ trait.name ~ "': type '" ~ trait.type ~ "' has no aggregate") }}
    {%- endif -%}
{%- endmacro %}

{#- The most frequent value per profile; ties go to the value seen most recently, then the smallest. -#}
{% macro most_frequent_trait_select(trait, events_relation) -%}
    select profile_id, trait_value as {{ trait.name }}
    from (
        select
            profile_id,
            trait_value,
            row_number() over (
                partition by profile_id
                order by occurrences desc, last_occurred_at desc, trait_value
            ) as rank_in_profile
        from (
            select
                profile_id,
                {{ cdp.trait_value(trait) }} as trait_value,
                count(*) as occurrences,
                max(event_at) as last_occurred_at
            from {{ events_relation }}
            where {{ cdp.trait_condition(trait) }}
            group by profile_id, {{ cdp.trait_value(trait) }}
        ) as value_counts
        where trait_value is not null
    ) as ranked
    where rank_in_profile = 1
{%- endmacro %}
