{#- Every link between two usable identifiers that identity resolution did not follow, with the rule that
    dropped it: `max_degree:<type>` (a shared hub), `limit:<anchor type>` (the link would put two anchors,
    e.g. two user_ids, in one profile; the earlier link won) or `limit:<type>` (the identifier was beyond
    its type's per-profile limit). -#}
with

edges as (

    select * from {{ ref('int_identity_edges') }}

),

nodes as (

    select * from {{ ref('int_identity_nodes') }}

),

assigned as (

    select * from {{ ref('int_identity_nodes_assigned') }}

),

dropped as (

    select
        edges.*,
        coalesce(
            edges.dropped_by,
            case when assigned_a.assigned_by like 'limit:%' then assigned_a.assigned_by end,
            case when assigned_b.assigned_by like 'limit:%' then assigned_b.assigned_by end,
            'limit:' || {{ "'" ~ (identity_rules().identifiers.items() | sort(attribute='1.priority') | selectattr('1.limit', 'equalto', 1) | map(attribute='0') | first | default('user_id')) ~ "'" }}
        ) as rule
    from edges
    inner join assigned as assigned_a on assigned_a.node_id = edges.node_a
    inner join assigned as assigned_b on assigned_b.node_id = edges.node_b
    where edges.dropped_by is not null or assigned_a.cluster_id <> assigned_b.cluster_id

),

final as (

    select
        node_a.id_type as id_type_a,
        node_a.id_value as id_value_a,
        node_b.id_type as id_type_b,
        node_b.id_value as id_value_b,
        dropped.rule,
        dropped.first_seen,
        dropped.last_seen,
        dropped.event_count,
        dropped.first_event_id
    from dropped
    inner join nodes as node_a on node_a.node_id = dropped.node_a
    inner join nodes as node_b on node_b.node_id = dropped.node_b

)

select
    id_type_a, id_value_a, id_type_b, id_value_b, rule, first_seen, last_seen, event_count, first_event_id
from final
