{#- The SQL of the per-profile event facts the given audiences need (see int_audience_event_facts):
    one aggregate pass over the events, one windowed pass over the funnels' step events. -#}
{% macro audience_event_facts_select(audiences, events_relation, profiles_relation) -%}
{%- set facts = [] -%}
{%- set funnels = [] -%}
{%- set seen = [] -%}
{%- set event_names = [] -%}
{%- set funnel_event_names = [] -%}
{%- set any_event = namespace(value=false) -%}
{%- for audience in audiences -%}
    {%- for fact in audience.facts if fact.column not in seen -%}
        {%- do facts.append(fact) -%}{%- do seen.append(fact.column) -%}
    {%- endfor -%}
    {%- for funnel in audience.funnels if funnel.column not in seen -%}
        {%- do funnels.append(funnel) -%}{%- do seen.append(funnel.column) -%}
    {%- endfor -%}
    {%- for fact in audience.facts -%}
        {%- for name in fact.get('events', ['*']) -%}
            {%- if name == '*' -%}{%- set any_event.value = true -%}
            {%- elif name not in event_names -%}{%- do event_names.append(name) -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endfor -%}
{%- endfor -%}
{%- set funnel_any_event = namespace(value=false) -%}
{%- for funnel in funnels -%}
    {%- for name in funnel.events -%}
        {%- if name == '*' -%}{%- set funnel_any_event.value = true -%}
        {%- elif name not in funnel_event_names -%}{%- do funnel_event_names.append(name) -%}
        {%- endif -%}
    {%- endfor -%}
{%- endfor -%}
with

events as (

    select * from {{ events_relation }}

),

profiles as (

    select profile_id from {{ profiles_relation }}

),

aggregated as (

    select
        profile_id
        {%- for fact in facts %},
        {{ cdp.audience_fill(fact.sql) }} as {{ fact.column }}
        {%- endfor %}
    from events
    {%- if facts and not any_event.value %}
    where event_name in ({{ cdp._event_list(event_names) }})
    {%- endif %}
    group by profile_id

),

funnel_steps as (

    select
        profile_id
        {%- for funnel in funnels %},
        case when {{ cdp.audience_fill(funnel.first) }} then event_at end as {{ funnel.column }}_first_at,
        {#- The first later step B at or after each row (peers at the same instant included). -#}
        min(case when {{ cdp.audience_fill(funnel.then) }} then event_at end) over (
            partition by profile_id order by event_at range between current row and unbounded following
        ) as {{ funnel.column }}_then_at
        {%- endfor %}
    from events
    where event_at <= {{ cdp.as_of() }}
    {%- if funnels and not funnel_any_event.value %}
        and event_name in ({{ cdp._event_list(funnel_event_names) }})
    {%- elif not funnels %}
        and 1 = 0
    {%- endif %}

),

funnel_facts as (

    {#- Per funnel: whether some A qualifies (B within the gap, or, for "without", the gap is over and no B
        came), and the deciding pair shown by `cdp why`: the latest qualifying A (else the latest A) with
        the first B after it. -#}
    {%- set never = "cast('9999-12-31' as " ~ dbt.type_timestamp() ~ ")" %}
    select
        profile_id
        {%- for funnel in funnels %}
        {%- set first = funnel.column ~ '_first_at' %}
        {%- set then = funnel.column ~ '_then_at' %}
        {%- set gap = dbt.dateadd('hour', funnel.hours, first) %}
        {%- if funnel.completed %}
        {%- set qualifies = first ~ ' is not null and ' ~ then ~ ' <= ' ~ gap %}
        {%- else %}
        {%- set qualifies = first ~ ' is not null and ' ~ gap ~ ' <= ' ~ cdp.as_of() ~ ' and (' ~ then ~ ' is null or ' ~ then ~ ' > ' ~ gap ~ ')' %}
        {%- endif %},
        max(case when {{ qualifies }} then 1 else 0 end) = 1 as {{ funnel.column }},
        coalesce(max(case when {{ qualifies }} then {{ first }} end), max({{ first }})) as {{ first }},
        nullif(
            case when max(case when {{ qualifies }} then 1 else 0 end) = 1
                then {{ cdp.last_value_by('coalesce(' ~ then ~ ', ' ~ never ~ ')', first, qualifies) }}
                else {{ cdp.last_value_by('coalesce(' ~ then ~ ', ' ~ never ~ ')', first, first ~ ' is not null') }}
            end,
            {{ never }}
        ) as {{ then }}
        {%- endfor %}
    from funnel_steps
    group by profile_id

),

final as (

    select
        profiles.profile_id
        {%- for fact in facts %},
        aggregated.{{ fact.column }}
        {%- endfor %}
        {%- for funnel in funnels %},
        funnel_facts.{{ funnel.column }},
        funnel_facts.{{ funnel.column }}_first_at,
        funnel_facts.{{ funnel.column }}_then_at
        {%- endfor %}
    from profiles
    left join aggregated on aggregated.profile_id = profiles.profile_id
    left join funnel_facts on funnel_facts.profile_id = profiles.profile_id

)

select * from final
{%- endmacro %}
