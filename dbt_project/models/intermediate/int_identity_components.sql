{#- Connected components by min-label propagation, unrolled `identity_max_rounds` times.
    The test `identity_components_converged` fails if any edge still joins two labels. -#}
with

edges as (

    select node_a as node, node_b as neighbour from {{ ref('int_identity_edges') }}
    union all
    select node_b as node, node_a as neighbour from {{ ref('int_identity_edges') }}

),

nodes as (

    select distinct id_type || ':' || id_value as node from {{ ref('int_identifiers_extracted') }}

),

round_0 as (

    select node, node as label from nodes

),
{% for round in range(1, var('identity_max_rounds') + 1) %}
round_{{ round }} as (

    select node, min(label) as label
    from (
        select node, label from round_{{ round - 1 }}
        union all
        select edges.node, previous.label
        from edges
        inner join round_{{ round - 1 }} as previous on previous.node = edges.neighbour
    ) as candidates
    group by node

),
{% endfor %}

final as (

    select node, label from round_{{ var('identity_max_rounds') }}

)

select * from final
