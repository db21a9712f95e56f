{#- Who each audience holds at the evaluation moment (var `as_of`): one row per (audience, profile), with
    the payload its file selects. Every audience is assembled here from its compiled declaration (see
    macros/audiences/audience.sql): one set of flags per profile, computed in layers so an audience that
    names another comes after it. Hand-written audiences run their own query. -#}
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
{%- set query_columns = {} %}
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
{%- set rendered = render(audience.query) %}
{%- if execute %}
    {%- do query_columns.update({audience.name: get_columns_in_query(rendered) | map('lower') | reject('equalto', 'profile_id') | list}) %}
{%- else %}
    {%- do query_columns.update({audience.name: []}) %}
{%- endif %}
query__{{ audience.name }} as (

    {#- A hand-written query may return a profile more than once: keep one row. -#}
    select *
    from (
        select
            hand_written.*,
            row_number() over (partition by hand_written.profile_id order by hand_written.profile_id) as row_in_profile
        from (
            {{ rendered }}
        ) as hand_written
    ) as numbered
    where row_in_profile = 1

),
{% endfor %}
{%- for level in range(deepest + 1) %}
flags_{{ level }} as (

    select
        traits.profile_id,
        profiles.email as member_email,
        profiles.user_id as member_user_id
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

    {%- for audience in audiences %}
    {%- set pairs = [] %}
    {%- if audience.kind == 'sql' %}
        {%- for column in query_columns[audience.name] if column != 'row_in_profile' %}
            {%- do pairs.append((column, 'query__' ~ audience.name ~ '.' ~ column)) %}
        {%- endfor %}
    {%- else %}
        {%- for column in audience.payload %}{%- do pairs.append((column, 'traits.' ~ column)) %}{%- endfor %}
    {%- endif %}
    select
        cast('{{ audience.name }}' as {{ dbt.type_string() }}) as audience,
        members.profile_id,
        members.member_email as email,
        members.member_user_id as user_id,
        {{ cdp.audience_json_object(pairs) }} as payload
    from flags_{{ deepest }} as members
    {%- if audience.kind != 'sql' and pairs %}
    inner join traits on traits.profile_id = members.profile_id
    {%- endif %}
    {%- if audience.kind == 'sql' %}
    inner join query__{{ audience.name }} on query__{{ audience.name }}.profile_id = members.profile_id
    {%- endif %}
    where members.in__{{ audience.name }}
    {% if not loop.last %}union all{% endif %}
    {%- else %}
    select
        cast(null as {{ dbt.type_string() }}) as audience,
        cast(null as {{ dbt.type_string() }}) as profile_id,
        cast(null as {{ dbt.type_string() }}) as email,
        cast(null as {{ dbt.type_string() }}) as user_id,
        cast(null as {{ dbt.type_string() }}) as payload
    where 1 = 0
    {%- endfor %}

)

select * from final
