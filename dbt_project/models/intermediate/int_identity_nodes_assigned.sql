{#- Applies the per-profile limits, in time order, to the components:
    1. A component holding more than one identifier of the anchor type (the strongest type limited to
       one per profile, `user_id` by default) is split around those anchors: every identifier joins its
       nearest anchor (breadth-first over kept edges); ties go to the link completed earliest, then the
       earliest-seen anchor, then the lowest id. So a shared device stays with whoever used it first.
       An id only ever named as an alias previous_id is an explicit merge: never an anchor, never counted.
    2. In each resulting cluster, identifiers of a limited type beyond the limit (within `window_days`
       when set), in first-seen order, are detached into profiles of their own: the earlier link wins.
    `assigned_by` records which rule placed each identifier. -#}
{{ config(post_hook="drop table if exists {{ identity_scratch_relation('anchor_assigned') }}") }}
{%- set rules = identity_rules() -%}
{%- set limited_one = [] -%}
{%- for name, rule in rules.identifiers.items() | sort(attribute='1.priority') if rule.limit == 1 -%}
    {%- do limited_one.append(name) -%}
{%- endfor -%}
{%- set anchor_type = limited_one[0] if limited_one else none -%}
{%- set nodes_relation = ref('int_identity_nodes') -%}
{%- set edges_relation = ref('int_identity_edges') -%}
{%- set components_relation = ref('int_identity_components') -%}
{%- set contested_components -%}
    select component_id
    from {{ components_relation }} as components
    inner join {{ nodes_relation }} as nodes on nodes.node_id = components.node_id
    where nodes.id_type = '{{ anchor_type }}' and not nodes.is_alias_only
    group by component_id
    having count(*) > 1
{%- endset -%}
{%- set seeds_sql -%}
    select nodes.node_id as node, nodes.node_id as anchor, nodes.first_seen as anchor_first_seen,
        nodes.first_seen as path_seen, 0 as distance
    from {{ nodes_relation }} as nodes
    inner join {{ components_relation }} as components on components.node_id = nodes.node_id
    where nodes.id_type = '{{ anchor_type }}' and not nodes.is_alias_only
        and components.component_id in ({{ contested_components }})
{%- endset -%}
{%- set anchor_edges_sql -%}
    select edges.node_a as node_from, edges.node_b as node_to, edges.first_seen
    from {{ edges_relation }} as edges
    inner join {{ components_relation }} as components on components.node_id = edges.node_a
    where edges.dropped_by is null and components.component_id in ({{ contested_components }})
    union all
    select edges.node_b as node_from, edges.node_a as node_to, edges.first_seen
    from {{ edges_relation }} as edges
    inner join {{ components_relation }} as components on components.node_id = edges.node_b
    where edges.dropped_by is null and components.component_id in ({{ contested_components }})
{%- endset -%}
{%- set nearest = identity_nearest_anchor(seeds_sql, anchor_edges_sql) if anchor_type else none -%}

with

{{ nearest.ctes if nearest else '' }}

nodes as (

    select * from {{ nodes_relation }}

),

components as (

    select * from {{ components_relation }}

),

{% if nearest %}
nearest_anchor as (

    {{ nearest.assigned }}

),
{% endif %}

clustered as (

    select
        nodes.node_id,
        nodes.id_type,
        nodes.first_seen,
        nodes.is_alias_only,
        components.component_id,
        {% if nearest %}
        coalesce(nearest_anchor.anchor, components.component_id) as cluster_id,
        case when nearest_anchor.anchor is not null then 'nearest_{{ anchor_type }}' else 'component' end as assigned_by,
        nearest_anchor.distance as anchor_distance
        {% else %}
        components.component_id as cluster_id,
        'component' as assigned_by,
        cast(null as integer) as anchor_distance
        {% endif %}
    from nodes
    inner join components on components.node_id = nodes.node_id
    {% if nearest %}
    left join nearest_anchor on nearest_anchor.node = nodes.node_id
    {% endif %}

),

limited as (

    select
        clustered.*,
        case when not clustered.is_alias_only then {{ identity_rule_case('clustered.id_type', 'limit') }} end as type_limit,
        {{ identity_rule_case('clustered.id_type', 'window_days') }} as window_days
    from clustered

),

over_limit_candidates as (

    {#- Only clusters that hold more identifiers of a limited type than its limit need the ordered check. -#}
    select limited.*
    from limited
    inner join (
        select cluster_id, id_type
        from limited
        where type_limit is not null
        group by cluster_id, id_type, type_limit
        having count(*) > type_limit
    ) as crowded on crowded.cluster_id = limited.cluster_id and crowded.id_type = limited.id_type

),

excess as (

    {#- The n-th identifier of a type (in first-seen order) is excess when n exceeds the limit, counting
        only those first seen within the window before it when the limit has one. -#}
    select later.node_id
    from over_limit_candidates as later
    inner join over_limit_candidates as earlier
        on earlier.cluster_id = later.cluster_id
        and earlier.id_type = later.id_type
        and (earlier.first_seen < later.first_seen
            or (earlier.first_seen = later.first_seen and earlier.node_id <= later.node_id))
        and (later.window_days is null
            or earlier.first_seen > {{ dbt.dateadd('day', '-1 * later.window_days', 'later.first_seen') }})
    group by later.node_id, later.type_limit
    having count(*) > later.type_limit

),

final as (

    select
        clustered.node_id,
        clustered.component_id,
        {#- detached identifiers get a cluster of their own, negative so it cannot meet a node-numbered one -#}
        case when excess.node_id is not null then -clustered.node_id else clustered.cluster_id end as cluster_id,
        case when excess.node_id is not null then 'limit:' || clustered.id_type else clustered.assigned_by end as assigned_by,
        clustered.anchor_distance
    from clustered
    left join excess on excess.node_id = clustered.node_id

)

select node_id, component_id, cluster_id, assigned_by, anchor_distance from final
