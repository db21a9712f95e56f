{#- Generic data tests of the identity models. -#}

{#- Every kept edge joins two identifiers of the same component: fails if contraction under-merged. -#}
{% test identity_components_converged(model) %}
select edges.node_a, edges.node_b
from {{ ref('int_identity_edges') }} as edges
inner join {{ model }} as component_a on component_a.node_id = edges.node_a
inner join {{ model }} as component_b on component_b.node_id = edges.node_b
where edges.dropped_by is null and component_a.component_id <> component_b.component_id
{% endtest %}

{% test identity_edge_is_ordered(model) %}
select node_a, node_b from {{ model }} where not node_a < node_b
{% endtest %}

{#- No profile cluster holds more identifiers of a limited type than its limit allows (windowless limits). -#}
{% test identity_limits_respected(model) %}
select assigned.cluster_id, nodes.id_type, count(*) as identifiers
from {{ model }} as assigned
inner join {{ ref('int_identity_nodes') }} as nodes on nodes.node_id = assigned.node_id
where {{ identity_rule_case('nodes.id_type', 'window_days') }} is null and not nodes.is_alias_only
group by assigned.cluster_id, nodes.id_type
having count(*) > max({{ identity_rule_case('nodes.id_type', 'limit') }})
{% endtest %}

{% test identity_no_outlier_component(model) %}
select size_rank, component_id, identifier_count, p99_identifier_count
from {{ model }}
where is_outlier
{% endtest %}

{#- Contraction packs (round hash, node id) into one bigint key: node ids must stay below 2^31. -#}
{% test identity_node_id_fits_round_key(model, column_name) %}
select {{ column_name }} from {{ model }} where {{ column_name }} >= 2147483648 or {{ column_name }} < 0
{% endtest %}
