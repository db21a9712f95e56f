{#- One row per (event, identifier it carries), normalised, with the rule that blocks it (null when usable).
    Which types are extracted, and how, follows the `# identity` vars block (macro identity_rules). -#}
{%- set rules = identity_rules() -%}
{%- set types = rules.identifiers -%}

with

events as (

    select * from {{ ref('stg_cdp__events') }}

),

known_user_ids as (

    select distinct trim(user_id) as user_id from events where user_id is not null

),

{% if 'phone' in types %}
phones as (

    select
        event_id,
        event_at,
        trim(coalesce(
            {{ json_text('traits', '$.phone') }},
            {{ json_text('context', '$.traits.phone') }},
            {{ json_text('properties', '$.phone') }}
        )) as raw_phone,
        upper(coalesce(
            {{ json_text('context', '$.location.country') }},
            {{ json_text('traits', '$.address.country') }},
            {{ json_text('context', '$.traits.address.country') }}
        )) as country
    from events

),

phones_normalised as (

    {#- E.164 when the number says so (+ or 00 prefix) or the country is known; bare digits otherwise. -#}
    select
        event_id,
        event_at,
        case
            when raw_phone like '+%' then '+' || {{ identity_digits_only('raw_phone') }}
            when raw_phone like '00%' then '+' || substr({{ identity_digits_only('raw_phone') }}, 3)
            {%- for country, code in rules.phone_country_codes.items() %}
            when country = '{{ country | upper }}' then '+{{ code }}' || ltrim({{ identity_digits_only('raw_phone') }}, '0')
            {%- endfor %}
            else {{ identity_digits_only('raw_phone') }}
        end as phone
    from phones
    where raw_phone is not null

),
{% endif %}

external_ids as (

    {{ identity_external_ids('events') }}

),

unpivoted as (

    select event_id, event_at, 'user_id' as id_type, trim(user_id) as id_value
    from events where user_id is not null

    union all

    select event_id, event_at, 'anonymous_id' as id_type, trim(anonymous_id) as id_value
    from events where anonymous_id is not null

    {#- alias: previous_id is the same node as a user_id when that value is ever used as one, else an anonymous_id. #}
    union all
    select
        events.event_id,
        events.event_at,
        case when known_user_ids.user_id is not null then 'user_id' else 'anonymous_id' end as id_type,
        trim(events.previous_id) as id_value
    from events
    left join known_user_ids on known_user_ids.user_id = trim(events.previous_id)
    where events.previous_id is not null

    {% if 'email' in types %}
    union all
    select event_id, event_at, 'email' as id_type, lower(trim(email)) as id_value
    from events where email is not null
    {% endif %}

    {% if 'phone' in types %}
    union all
    select event_id, event_at, 'phone' as id_type, phone as id_value
    from phones_normalised
    {% endif %}

    {% for id_type in ['device_id', 'advertising_id'] if id_type in types %}
    union all
    select event_id, event_at, '{{ id_type }}' as id_type, lower({{ id_type }}) as id_value
    from events where {{ id_type }} is not null
    {% endfor %}

    {% for id_type, rule in types.items() %}
    {% for column, path in rule.json %}
    union all
    select event_id, event_at, '{{ id_type }}' as id_type, trim({{ json_text(column, path) }}) as id_value
    from events where {{ json_text(column, path) }} is not null
    {% endfor %}
    {% endfor %}

    {#- Segment's custom ids: the type names the identifier type (lower snake case); an email stays an email. #}
    union all
    select
        event_id,
        event_at,
        trim(both '_' from {{ identity_regex_replace_all('lower(trim(external_type))', '[^a-z0-9]+', '_') }}) as id_type,
        case when lower(trim(external_type)) = 'email' then lower(trim(external_id)) else trim(external_id) end as id_value
    from external_ids
    where external_type is not null and external_id is not null

),

deduplicated as (

    select distinct event_id, event_at, id_type, id_value
    from unpivoted
    where id_value is not null

),

final as (

    select
        event_id,
        event_at,
        id_type,
        id_value,
        case
            when lower(id_value) in (
                {%- for value in rules.blocked_values %}'{{ value | replace("'", "''") }}'{% if not loop.last %}, {% endif %}{% endfor -%}
            ) then 'blocked_value'
            {%- for pattern in rules.blocked_patterns %}
            when {{ identity_regex_full_match('lower(id_value)', "'" ~ pattern | replace("'", "''") ~ "'") }}
                then 'blocked_pattern:{{ pattern | replace("'", "''") }}'
            {%- endfor %}
            when id_type = 'email' and id_value not like '%_@_%' then 'invalid_email'
            when id_type = 'phone' and length(replace(id_value, '+', '')) < 7 then 'invalid_phone'
        end as blocked_by
    from deduplicated

)

select event_id, event_at, id_type, id_value, blocked_by from final
