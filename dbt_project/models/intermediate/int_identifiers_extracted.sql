{#- One row per (event, identifier it carries), normalised, with the rule that blocks it (null when usable).
    Which types are extracted, and how, follows the `# identity` vars block (macro identity_rules). -#}
{#- Incremental: each event is extracted once, when it first arrives (`loaded_at` past the last one
    extracted), with the alias events whose previous_id the new events first send as an anonymous_id
    (that makes their previous_id an anonymous_id, not a user_id). A change to the `# identity` rules
    (rules_version) extracts everything again. Spark builds it whole (no delete+insert there). -#}
{{ config(
    materialized=('table' if target.type in ('spark', 'databricks') else 'incremental'),
    incremental_strategy='delete+insert',
    unique_key='event_id',
    on_schema_change='append_new_columns',
) }}
{%- set rules = identity_rules() -%}
{%- set types = rules.identifiers -%}
{%- set rules_version = local_md5(rules | tojson) -%}

with

all_events as (

    select * from {{ ref('stg_cdp__events') }}

),

{% if is_incremental() %}
{#- A table built before this model was incremental lacks its watermark columns: extract everything. -#}
{%- set built_columns = adapter.get_columns_in_relation(this) | map(attribute='name') | map('lower') | list if execute else [] -%}
extracted as (

    {% if 'rules_version' not in built_columns or 'loaded_at' not in built_columns %}
    select cast('1900-01-01' as timestamp) as loaded_until, false as same_rules
    {% else %}
    select
        coalesce(max(loaded_at), cast('1900-01-01' as timestamp)) as loaded_until,
        coalesce(min(rules_version) = '{{ rules_version }}' and max(rules_version) = '{{ rules_version }}', true)
            as same_rules
    from {{ this }}
    {% endif %}

),

arrived as (

    select all_events.*
    from all_events
    cross join extracted
    where all_events.loaded_at > extracted.loaded_until or not extracted.same_rules

),

events as (

    select * from arrived

    union all

    select all_events.*
    from all_events
    where all_events.previous_id is not null
        and trim(all_events.previous_id) in (select trim(anonymous_id) from arrived where anonymous_id is not null)
        and all_events.event_id not in (select event_id from arrived)

),

known_anonymous_ids as (

    select distinct trim(anonymous_id) as anonymous_id
    from all_events
    where anonymous_id is not null
        and trim(anonymous_id) in (select trim(previous_id) from events where previous_id is not null)

),
{% else %}
events as (

    select * from all_events

),

known_anonymous_ids as (

    select distinct trim(anonymous_id) as anonymous_id from events where anonymous_id is not null

),
{% endif %}

{% if 'phone' in types %}
phones as (

    select
        event_id,
        event_at,
        loaded_at,
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
        loaded_at,
        case
            when raw_phone like '+%' then '+' || {{ identity_digits_only('raw_phone') }}
            when raw_phone like '00%' then '+' || substr({{ identity_digits_only('raw_phone') }}, 3)
            {%- for country, code in rules.phone_country_codes.items() %}
            when coalesce(country, '{{ rules.phone_default_country }}') = '{{ country | upper }}' then
                case when {{ identity_digits_only('raw_phone') }} like '{{ code }}%' and length({{ identity_digits_only('raw_phone') }}) >= 11
                    then '+' || {{ identity_digits_only('raw_phone') }}
                    else '+{{ code }}' || {{ identity_ltrim(identity_digits_only('raw_phone'), "'0'") }}
                end
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

    select event_id, event_at, loaded_at, 'user_id' as id_type, trim(user_id) as id_value, false as via_alias
    from events where user_id is not null

    union all

    select event_id, event_at, loaded_at, 'anonymous_id' as id_type, trim(anonymous_id) as id_value, false as via_alias
    from events where anonymous_id is not null

    {#- alias: previous_id is the anonymous_id it names when that value is ever sent as one, else an earlier
        user_id (a legacy or renamed id); via_alias marks it so the user_id limit lets the alias merge it. #}
    union all
    select
        events.event_id,
        events.event_at,
        events.loaded_at,
        case when known_anonymous_ids.anonymous_id is not null then 'anonymous_id' else 'user_id' end as id_type,
        trim(events.previous_id) as id_value,
        true as via_alias
    from events
    left join known_anonymous_ids on known_anonymous_ids.anonymous_id = trim(events.previous_id)
    where events.previous_id is not null

    {% if 'email' in types %}
    union all
    select event_id, event_at, loaded_at, 'email' as id_type, lower(trim(email)) as id_value, false as via_alias
    from events where email is not null
    {% endif %}

    {% if 'phone' in types %}
    union all
    select event_id, event_at, loaded_at, 'phone' as id_type, phone as id_value, false as via_alias
    from phones_normalised
    {% endif %}

    {% for id_type in ['device_id', 'advertising_id'] if id_type in types %}
    union all
    select event_id, event_at, loaded_at, '{{ id_type }}' as id_type, trim({{ id_type }}) as id_value, false as via_alias
    from events where {{ id_type }} is not null
    {% endfor %}

    {% for id_type, rule in types.items() %}
    {% for column, path in rule.json %}
    union all
    select event_id, event_at, loaded_at, '{{ id_type }}' as id_type, trim({{ json_text(column, path) }}) as id_value, false as via_alias
    from events where {{ json_text(column, path) }} is not null
    {% endfor %}
    {% endfor %}

    {#- Segment's custom ids: the type names the identifier type (lower snake case); an email stays an email. #}
    union all
    select
        external_ids.event_id,
        external_ids.event_at,
        events.loaded_at,
        trim(both '_' from {{ identity_regex_replace_all('lower(trim(external_type))', '[^a-z0-9]+', '_') }}) as id_type,
        case when lower(trim(external_type)) = 'email' then lower(trim(external_id)) else trim(external_id) end as id_value,
        false as via_alias
    from external_ids
    inner join events on events.event_id = external_ids.event_id
    where external_ids.external_type is not null and external_ids.external_id is not null

),

deduplicated as (

    select event_id, event_at, loaded_at, id_type, id_value, {{ dbt.bool_or('via_alias') }} as via_alias
    from unpivoted
    where id_value is not null
    group by event_id, event_at, loaded_at, id_type, id_value

),

final as (

    select
        event_id,
        event_at,
        loaded_at,
        id_type,
        id_value,
        via_alias,
        '{{ rules_version }}' as rules_version,
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

select event_id, event_at, id_type, id_value, via_alias, blocked_by, loaded_at, rules_version from final
