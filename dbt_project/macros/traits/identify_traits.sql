{#- Identify traits: the latest non-null value of each key that identify calls set, across every
    identifier of the profile. Keys come from var `identify_traits` (a list) or, when it is null, from
    the data at run time (top-level keys of identify `traits`), capped by `identify_traits_max_keys`. -#}

{% macro identify_trait_keys(events_relation) -%}
    {%- set declared = var('identify_traits', none) -%}
    {%- if declared is not none -%}
        {{ return(declared) }}
    {%- endif -%}
    {%- if not execute -%}
        {{ return([]) }}
    {%- endif -%}
    {%- set query -%}
        select json_key from ({{ cdp.json_keys_query(events_relation, 'traits', "event_type = 'identify'") }}) as found_keys
        order by json_key
        limit {{ var('identify_traits_max_keys', 200) }}
    {%- endset -%}
    {%- set keys = run_query(query).columns[0].values() | list -%}
    {#- Keys that are not plain names (spaces, quotes, dots) cannot be addressed safely in a JSON path. -#}
    {%- set usable = [] -%}
    {%- for key in keys -%}
        {%- if modules.re.match('^[A-Za-z_][A-Za-z0-9_]*$', key) -%}{%- do usable.append(key) -%}{%- endif -%}
    {%- endfor -%}
    {{ return(usable) }}
{%- endmacro %}

{#- Column names for identify-trait keys: lower snake case; `identify_<key>` where a computed trait or
    another key already has the name (computed traits win). -#}
{% macro identify_trait_columns(keys, taken) -%}
    {%- set columns = {} -%}
    {%- set used = taken | list -%}
    {%- for key in keys -%}
        {%- set column = modules.re.sub('([a-z0-9])([A-Z])', '\\1_\\2', key) | lower -%}
        {%- if column in used -%}{%- set column = 'identify_' ~ column -%}{%- endif -%}
        {%- if column not in used -%}
            {%- do columns.update({key: column}) -%}
            {%- do used.append(column) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(columns) }}
{%- endmacro %}

{% macro identify_traits_select(events_relation, columns) -%}
    select
        profile_id
        {%- for key, column in columns.items() %},
        {{ cdp.last_value_by(cdp.json_text('traits', '$.' ~ key), 'event_at', 'true') }} as {{ column }}
        {%- endfor %}
    from {{ events_relation }}
    where event_type = 'identify'
    group by profile_id
{%- endmacro %}
