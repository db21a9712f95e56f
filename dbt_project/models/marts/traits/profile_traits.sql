{#- One row per profile, one column per trait: declared traits (var `traits`), SQL traits (macros named
    `sql_trait__*`, see macros/traits/sql_traits.sql) and identify traits, all computed over the stitched
    profile, so events from every identifier of a person count once. -#}
{{ config(post_hook="{{ cdp.comment_trait_columns(this) }}") }}
{%- set traits = cdp.trait_declarations() -%}
{%- set aggregated = traits | rejectattr('type', 'equalto', 'most_frequent') | list -%}
{%- set most_frequent = traits | selectattr('type', 'equalto', 'most_frequent') | list -%}
{%- set sql_traits = cdp.sql_trait_macro_names() -%}

with

events as (

    select * from {{ ref('int_events_resolved') }}

),

profiles as (

    select profile_id from {{ ref('profiles') }}

),

aggregated_traits as (

    select
        profile_id
        {%- for trait in aggregated %},
        {{ cdp.trait_aggregate(trait) }} as {{ trait.name }}
        {%- endfor %}
    from events
    group by profile_id

),
{% for trait in most_frequent %}
most_frequent__{{ trait.name }} as (

    {{ cdp.most_frequent_trait_select(trait, 'events') }}

),
{% endfor %}
{%- for macro_name in sql_traits %}
{{ macro_name }} as (

    {{ cdp.sql_trait_select(macro_name) }}

),
{% endfor %}
{%- set identify_columns = cdp.identify_trait_columns(
    cdp.identify_trait_keys(ref('int_events_resolved')),
    traits | map(attribute='name') | list + ['profile_id']
    + sql_traits | map('replace', cdp.sql_trait_prefix(), '') | list) %}
identify_traits as (

    {{ cdp.identify_traits_select('events', identify_columns) }}

),

final as (

    select
        profiles.profile_id
        {%- for trait in traits %},
        {%- set source = 'aggregated_traits' if trait.type != 'most_frequent' else 'most_frequent__' ~ trait.name %}
        {%- if trait.default is not none %}
        coalesce({{ source }}.{{ trait.name }}, {{ cdp.trait_literal(trait.default) }}) as {{ trait.name }}
        {%- else %}
        {{ source }}.{{ trait.name }}
        {%- endif %}
        {%- endfor %}
        {%- for column in identify_columns.values() %},
        identify_traits.{{ column }}
        {%- endfor %}
        {%- for macro_name in sql_traits %},
        {{ cdp.star_except(macro_name, ['profile_id']) }}
        {%- endfor %}
    from profiles
    left join aggregated_traits on aggregated_traits.profile_id = profiles.profile_id
    {%- for trait in most_frequent %}
    left join most_frequent__{{ trait.name }}
        on most_frequent__{{ trait.name }}.profile_id = profiles.profile_id
    {%- endfor %}
    left join identify_traits on identify_traits.profile_id = profiles.profile_id
    {%- for macro_name in sql_traits %}
    left join {{ macro_name }} on {{ macro_name }}.profile_id = profiles.profile_id
    {%- endfor %}

)

select * from final
