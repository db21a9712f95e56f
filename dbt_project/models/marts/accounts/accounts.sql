{#- One row per account (Segment `group` calls, `groupId`): the latest value of each group trait and how
    many people belong to it. -#}

with

group_calls as (

    select group_id, event_at, traits
    from {{ ref('int_events_resolved') }}
    where event_type = 'group' and group_id is not null and group_id <> ''

),

links as (

    select * from {{ ref('profile_accounts') }}

),

latest_traits as (

    select
        group_id as account_id,
        {{ cdp.last_value_by(cdp.json_text('traits', '$.name'), 'event_at', 'true') }} as name,
        {{ cdp.last_value_by(cdp.json_text('traits', '$.industry'), 'event_at', 'true') }} as industry,
        {{ cdp.last_value_by(cdp.try_cast(cdp.json_text('traits', '$.employees'), dbt.type_bigint()), 'event_at', 'true') }} as employees,
        {{ cdp.last_value_by(cdp.json_text('traits', '$.plan'), 'event_at', 'true') }} as plan,
        min(event_at) as first_seen,
        max(event_at) as last_seen
    from group_calls
    group by group_id

),

members as (

    select account_id, count(*) as members from links group by account_id

),

final as (

    select
        latest_traits.account_id,
        latest_traits.name,
        latest_traits.industry,
        latest_traits.employees,
        latest_traits.plan,
        coalesce(members.members, 0) as members,
        latest_traits.first_seen,
        latest_traits.last_seen
    from latest_traits
    left join members on members.account_id = latest_traits.account_id

)

select account_id, name, industry, employees, plan, members, first_seen, last_seen from final
