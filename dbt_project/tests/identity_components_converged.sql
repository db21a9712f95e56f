-- Fails when label propagation stopped before every edge joined one component (never under-merge silently).
select edges.node_a, edges.node_b
from {{ ref('int_identity_edges') }} as edges
inner join {{ ref('int_identity_components') }} as a on a.node = edges.node_a
inner join {{ ref('int_identity_components') }} as b on b.node = edges.node_b
where a.label <> b.label
