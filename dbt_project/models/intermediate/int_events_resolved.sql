{#- Every event that carries a usable identifier, with the profile of its strongest identifier
    (priority, then id order): every column of stg_cdp__events plus profile_id. -#}
with

events as (

    select * from {{ ref('stg_cdp__events') }}

),

identifiers as (

    select * from {{ ref('int_identifiers_extracted') }}
    where blocked_by is null

),

nodes as (

    select * from {{ ref('int_identity_nodes') }}

),

profile_ids as (

    select * from {{ ref('int_identity_profile_ids') }}

),

event_profiles as (

    select event_id, profile_id
    from (
        select
            identifiers.event_id,
            profile_ids.profile_id,
            row_number() over (partition by identifiers.event_id order by nodes.priority, nodes.node_id) as strength
        from identifiers
        inner join nodes on nodes.id_type = identifiers.id_type and nodes.id_value = identifiers.id_value
        inner join profile_ids on profile_ids.node_id = nodes.node_id
    ) as ranked
    where strength = 1

),

final as (

    select
        event_profiles.profile_id,
        events.*
    from events
    inner join event_profiles on event_profiles.event_id = events.event_id

)

select * from final
