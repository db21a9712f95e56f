{#- The per-profile event facts every audience's event and funnel conditions need, in one pass over the
    events: identical aggregates of different audiences share one column (named by their SQL), so the
    cost grows with the distinct facts, not with the number of audiences or conditions. Funnels share one
    windowed pass over just their steps' events. The facts come from the audiences' compiled
    declarations (`meta.audience`, see macros/audiences/audience.sql); `cdp why` reads them back. -#}
{%- set audiences = cdp.audience_specs() -%}
{%- set event_names = [] -%}
{%- for audience in audiences -%}
    {%- for name in audience.events if name != '*' and name not in event_names -%}{%- do event_names.append(name) -%}{%- endfor -%}
{%- endfor -%}
{%- if execute and event_names -%}
    {#- An event no one has sent is likely a typo, or an event the sources do not send yet: warn. -#}
    {%- set found_query -%}
        select distinct event_name from {{ ref('int_events_resolved') }}
        where event_name in ({{ cdp._event_list(event_names) }})
    {%- endset -%}
    {%- set found = run_query(found_query).columns[0].values() | list -%}
    {%- for audience in audiences -%}
        {%- for name in audience.events | unique if name != '*' and name not in found -%}
            {%- do exceptions.warn("Audience " ~ audience.file ~ ": event '" ~ name ~ "' was never seen in raw_events (a typo, or not sent yet?)") -%}
        {%- endfor -%}
    {%- endfor -%}
{%- endif %}

{{ cdp.audience_event_facts_select(audiences, ref('int_events_resolved'), ref('profiles')) }}
