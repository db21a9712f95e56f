{#- The identifiers of the latest identity run with their profile ids: the rows
    `int_identity_profile_ids_assigned` wrote in its last build (it also keeps older identifiers' last
    assignment, so an identifier that comes back gets its profile back). -#}

with

assigned as (

    select * from {{ ref('int_identity_profile_ids_assigned') }}

),

latest as (

    select max(assigned_at) as assigned_at from assigned

),

final as (

    select
        assigned.node_id,
        assigned.id_type,
        assigned.id_value,
        assigned.first_seen,
        assigned.last_seen,
        assigned.cluster_id,
        assigned.profile_id,
        assigned.previous_profile_id,
        assigned.previous_profile_absorbed
    from assigned
    inner join latest on latest.assigned_at = assigned.assigned_at

)

select * from final
