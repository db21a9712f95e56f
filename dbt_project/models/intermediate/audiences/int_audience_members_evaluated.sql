{#- Who each audience holds at the evaluation moment (var `as_of`): one row per profile with a flag
    `in__<audience>` per audience. Every audience is assembled here from its compiled declaration (see
    macros/audiences/audience.sql), in layers so an audience that names another comes after it.
    Hand-written audiences run their own query. audience_membership_history, audience_membership and
    audience_sizes read the flags as (audience, profile) rows (`cdp.audience_members_from_flags`);
    audience_membership adds the payloads. -#}
{%- set audiences = cdp.audience_specs() -%}
{%- if execute -%}
    {%- set trait_columns = adapter.get_columns_in_relation(ref('profile_traits')) | map(attribute='name') | map('lower') | list -%}
    {%- for audience in audiences -%}
        {%- for trait in audience.get('identify_traits', []) if trait not in trait_columns -%}
            {{ exceptions.raise_compiler_error("Bad audience in " ~ audience.file ~ ": identify trait '" ~ trait ~ "' is not a column of profile_traits (columns: " ~ trait_columns | join(', ') ~ ")") }}
        {%- endfor -%}
    {%- endfor -%}
{%- endif -%}
{%- set levels = {} -%}
{%- for audience in audiences -%}
    {%- set depth = namespace(value=0) -%}
    {%- for other in audience.audiences -%}
        {%- if levels[other] + 1 > depth.value -%}{%- set depth.value = levels[other] + 1 -%}{%- endif -%}
    {%- endfor -%}
    {%- do levels.update({audience.name: depth.value}) -%}
{%- endfor -%}
{%- set deepest = (levels.values() | max) if levels else -1 -%}
-- depends_on: {{ ref('int_events_resolved') }}, {{ ref('accounts') }}, {{ ref('account_traits') }}, {{ ref('profile_accounts') }}

with

traits as (

    select * from {{ ref('profile_traits') }}

),

facts as (

    select * from {{ ref('int_audience_event_facts') }}

),

profiles as (

    select * from {{ ref('profiles') }}

),
{% for audience in audiences if audience.kind == 'sql' %}
query__{{ audience.name }} as (

    {{ cdp.audience_hand_written_query(audience) }}

),
{% endfor %}
{%- for level in range(deepest + 1) %}
flags_{{ level }} as (

    select
        traits.profile_id
        {%- for audience in audiences if levels[audience.name] < level %},
        members.in__{{ audience.name }}
        {%- endfor %}
        {%- for audience in audiences if levels[audience.name] == level %},
        {%- if audience.kind == 'sql' %}
        traits.profile_id in (select profile_id from query__{{ audience.name }}) as in__{{ audience.name }}
        {%- else %}
        {{ cdp.audience_fill(audience.predicate) }} as in__{{ audience.name }}
        {%- endif %}
        {%- endfor %}
    from traits
    left join facts on facts.profile_id = traits.profile_id
    left join profiles on profiles.profile_id = traits.profile_id
    {%- if level > 0 %}
    left join flags_{{ level - 1 }} as members on members.profile_id = traits.profile_id
    {%- endif %}

),
{% endfor %}

final as (

    select
        profile_id
        {%- for audience in audiences %},
        in__{{ audience.name }}
        {%- endfor %}
    from {{ 'flags_' ~ deepest if deepest >= 0 else 'traits' }}

)

select * from final
