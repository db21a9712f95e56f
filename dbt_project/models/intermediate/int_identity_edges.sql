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

    select distinct
        identifiers.event_id,
        identifiers.event_at,
        nodes.node_id,
        nodes.priority
    from identifiers
    inner join nodes on nodes.id_type = identifiers.id_type and nodes.id_value = identifiers.id_value

),

ranked as (

    select
        event_id,
        event_at,
        node_id,
        row_number() over (partition by event_id order by priority, node_id) as strength
    from event_nodes

),

links as (

    select
        anchor.event_id,
        anchor.event_at,
        case when anchor.node_id < other.node_id then anchor.node_id else other.node_id end as node_a,
        case when anchor.node_id < other.node_id then other.node_id else anchor.node_id end as node_b
    from ranked as anchor
    inner join ranked as other on other.event_id = anchor.event_id and other.strength > 1
    where anchor.strength = 1

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

degrees as (

    select node_id, count(*) as degree
    from (
        select node_a as node_id from edges
        union all
        select node_b as node_id from edges
    ) as endpoints
    group by node_id

),

hubs as (

    select nodes.node_id, nodes.id_type
    from nodes
    inner join degrees on degrees.node_id = nodes.node_id
    where degrees.degree > {{ identity_rule_case('nodes.id_type', 'max_degree') }}

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
