{#- A SQL trait: true while the profile's latest plan event put it on the trial plan.
    Any macro named `sql_trait__<name>` returning one row per profile_id is joined into profile_traits. -#}
{% macro sql_trait__is_trial() %}

with

plan_events as (

    select
        profile_id,
        event_at,
        {{ cdp.json_text('properties', '$.plan') }} as plan
    from {{ ref('int_events_resolved') }}
    where event_name in ('Trial Started', 'Subscription Started', 'Subscription Cancelled')

),

latest as (

    select
        profile_id,
        plan,
        row_number() over (partition by profile_id order by event_at desc) as recency
    from plan_events

)

select
    profiles.profile_id,
    coalesce(latest.plan = 'trial', false) as is_trial
from {{ ref('profiles') }} as profiles
left join latest on latest.profile_id = profiles.profile_id and latest.recency = 1

{% endmacro %}
