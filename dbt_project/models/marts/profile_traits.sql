with

events as (

    select * from {{ ref('int_events_resolved') }}

),

profiles as (

    select * from {{ ref('profiles') }}

),

per_profile as (

    select
        profile_id,
        count(*) as event_count,
        count(case when event_name = 'Order Completed' then 1 end) as order_count,
        coalesce(sum(case when event_name = 'Order Completed'
            then cast({{ json_text('properties', '$.revenue') }} as {{ dbt.type_numeric() }}) end), 0) as lifetime_value,
        count(case when event_name = 'Support Ticket Opened' then 1 end) as support_ticket_count,
        max(case when event_name = 'Trial Started' then 1 else 0 end) = 1 as has_started_trial,
        max(case when event_name = 'Subscription Started' then 1 else 0 end) = 1 as has_subscribed,
        max(case when event_name = 'Logged In' then event_at end) as last_login_at,
        max(event_at) as last_seen_at
    from events
    group by profile_id

),

final as (

    select
        profiles.profile_id,
        coalesce(per_profile.event_count, 0) as event_count,
        coalesce(per_profile.order_count, 0) as order_count,
        coalesce(per_profile.lifetime_value, 0) as lifetime_value,
        coalesce(per_profile.support_ticket_count, 0) as support_ticket_count,
        coalesce(per_profile.has_started_trial, false) as has_started_trial,
        coalesce(per_profile.has_subscribed, false) as has_subscribed,
        per_profile.last_login_at,
        per_profile.last_seen_at,
        {{ dbt.datediff('per_profile.last_seen_at', as_of(), 'day') }} as days_since_last_seen
    from profiles
    left join per_profile on per_profile.profile_id = profiles.profile_id

)

select * from final
