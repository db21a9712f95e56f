{#- Connected components of the kept edges by randomized contraction (Bögeholz, Brand & Todor, ICDE 2020):
    about log n rounds, each a GROUP BY and two joins. `rounds` is how many ran and `remaining_edges` must
    be 0 (tested): a component is never silently split by running out of rounds. -#}
{{ config(post_hook="drop table if exists {{ this.schema }}.{{ this.identifier }}__labels_1") }}
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

labelled as (

    select nodes.node_id, coalesce(labels.label, nodes.node_id) as label
    from nodes
    left join labels on labels.node = nodes.node_id

),

final as (

    {#- The contraction's representative is arbitrary: name each component by its smallest node id. -#}
    select
        node_id,
        min(node_id) over (partition by label) as component_id,
        {{ components.rounds }} as rounds,
        {{ components.remaining_edges }} as remaining_edges
    from labelled

)

select node_id, component_id, rounds, remaining_edges from final
