{#- Which person belongs to which account: every (profile, groupId) a Segment `group` call tied together. -#}

with

group_calls as (

    select profile_id, group_id, event_at
    from {{ ref('int_events_resolved') }}
    where event_type = 'group' and group_id is not null and group_id <> ''

),

final as (

    select
        profile_id,
        group_id as account_id,
        min(event_at) as first_linked_at,
        max(event_at) as last_linked_at
    from group_calls
    group by profile_id, group_id

)

select profile_id, account_id, first_linked_at, last_linked_at from final
