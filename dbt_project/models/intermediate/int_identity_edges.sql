{#- One row per pair of identifiers seen together (node_a < node_b). Each event links every identifier it
    carries to its strongest one, a star that connects them all. An identifier of a type with
    `max_degree` linked to more distinct identifiers than that is a shared hub: its edges are dropped. -#}
with

identifiers as (

    select * from {{ ref('int_identifiers_extracted') }}
    where blocked_by is null

),

nodes as (

    select * from {{ ref('int_identity_nodes') }}

),

event_nodes as (

    {#- One row per (event, node): int_identifiers_extracted holds each (event, identifier) once (tested). -#}
    select
        identifiers.event_id,
        identifiers.event_at,
        nodes.node_id,
        nodes.priority
    from identifiers
    inner join nodes on nodes.id_type = identifiers.id_type and nodes.id_value = identifiers.id_value

),

ranked as (

    {#- The event's strongest identifier (its anchor) rides along each row: no self-join on event_id. -#}
    select
        event_id,
        event_at,
        node_id,
        row_number() over (partition by event_id order by priority, node_id) as strength,
        first_value(node_id) over (partition by event_id order by priority, node_id) as anchor_node_id
    from event_nodes

),

links as (

    select
        event_id,
        event_at,
        case when anchor_node_id < node_id then anchor_node_id else node_id end as node_a,
        case when anchor_node_id < node_id then node_id else anchor_node_id end as node_b
    from ranked
    where strength > 1

),

edges as (

    select
        node_a,
        node_b,
        min(event_at) as first_seen,
        max(event_at) as last_seen,
        count(*) as event_count,
        {{ identity_arg_min('event_id', 'event_at') }} as first_event_id
    from links
    group by node_a, node_b

),

capped_nodes as (

    select node_id, id_type, {{ identity_rule_case('id_type', 'max_degree') }} as max_degree
    from nodes
    where {{ identity_rule_case('id_type', 'max_degree') }} is not null

),

degrees as (

    {#- Only identifiers of a type with max_degree can be hubs: count the edges of those alone. -#}
    select endpoints.node_id, count(*) as degree
    from (
        select node_a as node_id from edges
        union all
        select node_b as node_id from edges
    ) as endpoints
    inner join capped_nodes on capped_nodes.node_id = endpoints.node_id
    group by endpoints.node_id

),

hubs as (

    select capped_nodes.node_id, capped_nodes.id_type
    from capped_nodes
    inner join degrees on degrees.node_id = capped_nodes.node_id
    where degrees.degree > capped_nodes.max_degree

),

final as (

    select
        edges.node_a,
        edges.node_b,
        edges.first_seen,
        edges.last_seen,
        edges.event_count,
        edges.first_event_id,
        case
            when hub_a.node_id is not null then 'max_degree:' || hub_a.id_type
            when hub_b.node_id is not null then 'max_degree:' || hub_b.id_type
        end as dropped_by
    from edges
    left join hubs as hub_a on hub_a.node_id = edges.node_a
    left join hubs as hub_b on hub_b.node_id = edges.node_b

)

select node_a, node_b, first_seen, last_seen, event_count, first_event_id, dropped_by from final
