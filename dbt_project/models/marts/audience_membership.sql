{#- Who is in which audience now: the open stays of the history (so entered_at is when the current stay
    began) with the payload of the latest evaluation (the columns each audience's file selects, read
    here, once, for the members only). -#}
{%- set audiences = cdp.audience_specs() %}
-- depends_on: {{ ref('int_events_resolved') }}, {{ ref('accounts') }}, {{ ref('account_traits') }}, {{ ref('profile_accounts') }}, {{ ref('profile_traits') }}

with

stays as (

    select * from {{ ref('audience_membership_history') }}

),

flags as (

    select * from {{ ref('int_audience_members_evaluated') }}

),

traits as (

    select * from {{ ref('profile_traits') }}

),

profiles as (

    select * from {{ ref('profiles') }}

),
{% for audience in audiences if audience.kind == 'sql' %}
query__{{ audience.name }} as (

    {{ cdp.audience_hand_written_query(audience) }}

),
{% endfor %}

{#- Payloads only for audiences that select columns: most memberships carry none ('{}'), and joining every
    membership to a computed payload cost more than the rest of the model. -#}
{%- set without_payload = [] %}
{%- for audience in audiences if audience.kind != 'sql' and not audience.payload %}
    {%- do without_payload.append(audience.name) %}
{%- endfor %}
payloads as (

    {%- for audience in audiences if audience.name not in without_payload %}
    {%- set pairs = [] %}
    {%- if audience.kind == 'sql' %}
        {%- set columns = (get_columns_in_query(render(audience.query)) | map('lower') | list) if execute else [] %}
        {%- for column in columns if column not in ['profile_id', 'row_in_profile'] %}
            {%- do pairs.append((column, 'query__' ~ audience.name ~ '.' ~ column)) %}
        {%- endfor %}
    {%- else %}
        {%- for column in audience.payload %}{%- do pairs.append((column, 'traits.' ~ column)) %}{%- endfor %}
    {%- endif %}
    select
        cast('{{ audience.name }}' as {{ dbt.type_string() }}) as audience,
        flags.profile_id,
        {{ cdp.audience_json_object(pairs) }} as payload
    from flags
    {%- if audience.kind != 'sql' %}
    inner join traits on traits.profile_id = flags.profile_id
    {%- else %}
    inner join query__{{ audience.name }} on query__{{ audience.name }}.profile_id = flags.profile_id
    {%- endif %}
    where flags.in__{{ audience.name }}
    {% if not loop.last %}union all{% endif %}
    {%- else %}
    select
        cast(null as {{ dbt.type_string() }}) as audience,
        cast(null as {{ dbt.type_string() }}) as profile_id,
        cast(null as {{ dbt.type_string() }}) as payload
    where 1 = 0
    {%- endfor %}

),

final as (

    {#- The open stays are exactly the members of this build's evaluation: the history was brought up to it
        just before (stays of members who left, or of audiences whose file was removed, were closed). -#}
    select
        stays.audience,
        stays.profile_id,
        stays.entered_at,
        profiles.email,
        profiles.user_id,
        {%- if without_payload %}
        case
            when stays.audience in ({{ cdp._event_list(without_payload) }}) then {{ cdp.audience_json_object([]) }}
            else payloads.payload
        end as payload
        {%- else %}
        payloads.payload
        {%- endif %}
    from stays
    left join payloads
        on payloads.audience = stays.audience
        and payloads.profile_id = stays.profile_id
    left join profiles on profiles.profile_id = stays.profile_id
    where stays.exited_at is null
        and ({% if without_payload %}stays.audience in ({{ cdp._event_list(without_payload) }}) or {% endif %}payloads.profile_id is not null)

)

select audience, profile_id, entered_at, email, user_id, payload from final
