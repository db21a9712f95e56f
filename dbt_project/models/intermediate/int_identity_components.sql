{#- Connected components of the kept edges by randomized contraction (Bögeholz, Brand & Todor, ICDE 2020):
    about log n rounds, each a GROUP BY and two joins. `rounds` is how many ran and `remaining_edges` must
    be 0 (tested): a component is never silently split by running out of rounds. -#}
{{ config(post_hook="drop table if exists {{ identity_scratch_relation('labels') }}") }}
{%- set components = identity_connected_components(
    "select node_a, node_b from " ~ ref('int_identity_edges') ~ " where dropped_by is null") -%}

with

{{ components.ctes }}

nodes as (

    select node_id from {{ ref('int_identity_nodes') }}

),

labels as (

    {{ components.labels }}

),

final as (

    {#- Labels name each component by its smallest node id; a node on no kept edge is its own component. -#}
    select
        nodes.node_id,
        coalesce(labels.label, nodes.node_id) as component_id,
        {{ components.rounds }} as rounds,
        {{ components.remaining_edges }} as remaining_edges
    from nodes
    left join labels on labels.node = nodes.node_id

)

select node_id, component_id, rounds, remaining_edges from final
