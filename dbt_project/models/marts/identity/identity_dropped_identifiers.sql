{#- Every identifier value kept out of stitching, with the rule: `blocked_value`, `blocked_pattern:<re>`,
    `invalid_email`, `invalid_phone` (never a node: it links nothing and resolves no event), `max_degree:<type>`
    (a shared hub: it keeps a profile of its own) or `limit:<type>` (beyond its type's limit in the profile
    it would have joined: it keeps a profile of its own). -#}
with

identifiers as (

    select * from {{ ref('int_identifiers_extracted') }}

),

nodes as (

    select * from {{ ref('int_identity_nodes') }}

),

edges as (

    select * from {{ ref('int_identity_edges') }}

),

assigned as (

    select * from {{ ref('int_identity_nodes_assigned') }}

),

blocked as (

    select
        id_type,
        id_value,
        min(blocked_by) as rule,
        min(event_at) as first_seen,
        max(event_at) as last_seen,
        count(distinct event_id) as event_count
    from identifiers
    where blocked_by is not null
    group by id_type, id_value

),

hubs as (

    select distinct nodes.id_type, nodes.id_value, edges.dropped_by as rule, nodes.first_seen, nodes.last_seen, nodes.event_count
    from edges
    inner join nodes on nodes.node_id in (edges.node_a, edges.node_b)
    where edges.dropped_by = 'max_degree:' || nodes.id_type

),

over_limit as (

    select nodes.id_type, nodes.id_value, assigned.assigned_by as rule, nodes.first_seen, nodes.last_seen, nodes.event_count
    from assigned
    inner join nodes on nodes.node_id = assigned.node_id
    where assigned.assigned_by like 'limit:%'

),

final as (

    select * from blocked
    union all
    select * from hubs
    union all
    select * from over_limit

)

select id_type, id_value, rule, first_seen, last_seen, event_count from final
