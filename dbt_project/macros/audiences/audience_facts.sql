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
{%- set never = "cast('9999-12-31' as " ~ dbt.type_timestamp() ~ ")" -%}
{%- set then_steps = [] -%}
{%- for funnel in funnels if funnel.then not in then_steps -%}{%- do then_steps.append(funnel.then) -%}{%- endfor -%}
{%- set funnel_any_event = namespace(value=false) -%}
{%- for funnel in funnels -%}
    {%- for name in funnel.events -%}
        {%- if name == '*' -%}{%- set funnel_any_event.value = true -%}
        {%- elif name not in funnel_event_names -%}{%- do funnel_event_names.append(name) -%}
        {%- endif -%}
    {%- endfor -%}
{%- endfor -%}
{#- Every event property a fact or funnel reads is extracted once per row, in `events`, not once per fact,
    and only on rows of the events whose facts read it: a fact's condition names its events, so on other
    rows the property is never read, and JSON is not parsed for (say) every page view. -#}
{%- set marker = 'cdppropertymarker' -%}
{%- set pattern = modules.re.escape(cdp.trait_property_text(marker) | trim) | replace(marker, '([A-Za-z0-9_.]+)') -%}
{%- set readers = [] -%}
{%- for fact in facts %}{%- do readers.append((fact.sql, fact.get('events', ['*']))) -%}{%- endfor -%}
{%- for funnel in funnels %}{%- do readers.append((funnel.first ~ ' ' ~ funnel.then, funnel.events)) -%}{%- endfor -%}
{%- set property_events = {} -%}
{%- for text, names in readers -%}
    {%- for property in modules.re.findall(pattern, text) -%}
        {%- set seen_names = property_events.setdefault(property, []) -%}
        {%- for name in names if name not in seen_names -%}{%- do seen_names.append(name) -%}{%- endfor -%}
    {%- endfor -%}
{%- endfor -%}
{%- set properties = property_events.keys() | list | sort -%}
{%- set columns = {} -%}
{%- set shared = {} -%}
{%- for property in properties -%}
    {%- do columns.update({property: 'property__' ~ property | replace('.', '__')}) -%}
    {%- do shared.update({cdp.trait_property_text(property) | trim: columns[property]}) -%}
{%- endfor -%}
with

events as (

    select
        profile_id,
        event_name,
        event_at
        {%- for property, column in columns.items() %},
        {%- if '*' in property_events[property] %}
        {{ cdp.trait_property_text(property) }} as {{ column }}
        {%- else %}
        case when event_name in ({{ cdp._event_list(property_events[property]) }}) then {{ cdp.trait_property_text(property) }} end as {{ column }}
        {%- endif %}
        {%- endfor %}
    from {{ events_relation }}
    where event_at <= {{ cdp.as_of() }}

),

profiles as (

    select profile_id from {{ profiles_relation }}

),

aggregated as (

    select
        profile_id
        {%- for fact in facts %},
        {{ cdp._audience_shared_sql(fact.sql, shared) }} as {{ fact.column }}
        {%- endfor %}
    from events
    {%- if facts and not any_event.value %}
    where event_name in ({{ cdp._event_list(event_names) }})
    {%- endif %}
    group by profile_id

),

funnel_steps as (

    {#- One window per distinct second step B (funnels differing only in A or the gap share it): the first
        B at or after each row (peers at the same instant included). -#}
    select
        profile_id,
        event_at
        {%- for then in then_steps %},
        min(case when {{ cdp._audience_shared_sql(then, shared) }} then event_at end) over (
            partition by profile_id order by event_at range between current row and unbounded following
        ) as then_{{ loop.index }}_at
        {%- endfor %}
        {%- for funnel in funnels %},
        case when {{ cdp._audience_shared_sql(funnel.first, shared) }} then event_at end as {{ funnel.column }}_first_at
        {%- endfor %}
    from events
    {%- if funnels and not funnel_any_event.value %}
    where event_name in ({{ cdp._event_list(funnel_event_names) }})
    {%- elif not funnels %}
    where 1 = 0
    {%- endif %}

),

funnel_qualified as (

    {#- Per step row and funnel: whether this A qualifies (B within the gap, or, for "without", the gap is
        over and no B came). Only rows that are an A of some funnel matter. -#}
    select
        profile_id
        {%- for funnel in funnels %}
        {%- set first = funnel.column ~ '_first_at' %}
        {%- set then = 'then_' ~ (then_steps.index(funnel.then) + 1) ~ '_at' %}
        {%- set gap = dbt.dateadd('hour', funnel.hours, first) %}
        {%- if funnel.completed %}
        {%- set qualifies = first ~ ' is not null and ' ~ then ~ ' <= ' ~ gap %}
        {%- else %}
        {%- set qualifies = first ~ ' is not null and ' ~ gap ~ ' <= ' ~ cdp.as_of() ~ ' and (' ~ then ~ ' is null or ' ~ then ~ ' > ' ~ gap ~ ')' %}
        {%- endif %},
        {{ first }},
        case when {{ first }} is not null then coalesce({{ then }}, {{ never }}) end as {{ funnel.column }}_next_at,
        coalesce({{ qualifies }}, false) as {{ funnel.column }}_qualifies
        {%- endfor %}
    from funnel_steps
    {%- if funnels %}
    where {% for funnel in funnels %}{{ funnel.column }}_first_at is not null{% if not loop.last %} or {% endif %}{% endfor %}
    {%- endif %}

),

funnel_facts as (

    {#- Per funnel: whether some A qualifies, and the deciding pair shown by `cdp why`: the latest
        qualifying A (else the latest A) with the first B after it. The first B at or after an A never
        comes earlier for a later A (and is the same for As at the same instant), so the B of the latest
        A is the latest B: plain maxima, no ordering by A. -#}
    select
        profile_id
        {%- for funnel in funnels %}
        {%- set first = funnel.column ~ '_first_at' %}
        {%- set next = funnel.column ~ '_next_at' %}
        {%- set qualifies = funnel.column ~ '_qualifies' %},
        {{ dbt.bool_or(qualifies) }} as {{ funnel.column }},
        coalesce(max(case when {{ qualifies }} then {{ first }} end), max({{ first }})) as {{ first }},
        nullif(
            coalesce(max(case when {{ qualifies }} then {{ next }} end), max({{ next }})),
            {{ never }}
        ) as {{ funnel.column }}_then_at
        {%- endfor %}
    from funnel_qualified
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


{#- A fact's SQL with the audience placeholders filled and each property read from its shared column
    (`shared`: the property's SQL text to its column, computed once per model, not once per fact). -#}
{% macro _audience_shared_sql(sql, shared) -%}
    {%- set filled = namespace(sql=cdp.audience_fill(sql)) -%}
    {%- for text, column in shared.items() -%}
        {%- set filled.sql = filled.sql | replace(text, column) -%}
    {%- endfor -%}
    {{- filled.sql -}}
{%- endmacro %}
