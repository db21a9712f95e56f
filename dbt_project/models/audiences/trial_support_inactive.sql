{{ config(meta={
    'audience': {
        'name': 'trial_support_inactive',
        'description': 'Trial users who contacted support, never subscribed and have been inactive for 30 days.',
        'key': 'profile_id',
    }
}) }}

with

traits as (

    select * from {{ ref('profile_traits') }}

),

profiles as (

    select * from {{ ref('profiles') }}

),

final as (

    select
        traits.profile_id,
        profiles.email,
        profiles.user_id,
        traits.lifetime_value,
        traits.days_since_last_seen
    from traits
    inner join profiles on profiles.profile_id = traits.profile_id
    where traits.has_started_trial
        and traits.support_ticket_count > 0
        and not traits.has_subscribed
        and traits.days_since_last_seen >= 30

)

select * from final
