{#- Iterative graph steps driven in one of two ways (var `identity_components_strategy`):
    - loop: at execution time, one scratch table per round via run_query until nothing changes
      (bounded by `identity_max_rounds`); only the final labels table is read by the model.
    - unrolled: the same round SQL as a chain of `identity_max_rounds` CTEs (for dbt unit tests and
      engines where scratch tables are unwelcome).
    Either way the model reports `rounds` and `remaining_edges`, and data tests fail when edges remain. -#}

{#- Randomized contraction. Each round orders the nodes by a fresh bijective hash and every node picks,
    among itself and its neighbours, the one that comes first as its representative; edges are then
    rewritten to representatives and self-loops dropped. A node's round key packs (hash, node) into one
    bigint (hash * 2^31 + node, node ids below 2^31), so a plain `min` finds the first neighbour and its id
    at once: no arg_min, one aggregate over both edge directions. -#}
{% macro identity_round_key(x, round) -%}
    ({{ identity_round_hash(x, round) }}) * 2147483648 + {{ x }}
{%- endmacro %}

{% macro identity_contraction_map(edges, round) -%}
    select
        node,
        case
            when min(neighbour_key) < {{ identity_round_key('node', round) }} then min(neighbour_key) % 2147483648
            else node
        end as representative
    from (
        select node_a as node, {{ identity_round_key('node_b', round) }} as neighbour_key from {{ edges }}
        union all
        select node_b as node, {{ identity_round_key('node_a', round) }} as neighbour_key from {{ edges }}
    ) as candidates
    group by node
{%- endmacro %}

{#- The edges rewritten to representatives (node_a < node_b), self-loops and duplicates dropped. -#}
{% macro identity_contraction_edges(edges, map) -%}
    select node_a, node_b
    from (
        select
            case when map_a.representative < map_b.representative then map_a.representative else map_b.representative end as node_a,
            case when map_a.representative < map_b.representative then map_b.representative else map_a.representative end as node_b
        from {{ edges }} as edges
        inner join {{ map }} as map_a on map_a.node = edges.node_a
        inner join {{ map }} as map_b on map_b.node = edges.node_b
        where map_a.representative <> map_b.representative
    ) as rewritten
    group by node_a, node_b
{%- endmacro %}

{#- Every node of round 1 with the last round's representative of its group, found by chaining the
    round maps backwards (a node's label is its representative's label in the next round; a
    representative that left the next round, having no edge left, is its own label) and the group
    named by its smallest node. Returns CTE text ending in `contraction_labels` (node, label); the
    maps shrink round by round, so the whole chain costs about as much as the first map. -#}
{% macro identity_contraction_labels(maps) -%}
    {%- set ctes = ["contraction_labels_" ~ (maps | length) ~ " as (select node, representative as label from " ~ maps[-1] ~ ")"] -%}
    {%- for round in range(maps | length - 1, 0, -1) -%}
        {%- do ctes.append("contraction_labels_" ~ round ~ " as (\n"
            ~ "    select map.node, coalesce(next_labels.label, map.representative) as label\n"
            ~ "    from " ~ maps[round - 1] ~ " as map\n"
            ~ "    left join contraction_labels_" ~ (round + 1) ~ " as next_labels on next_labels.node = map.representative\n)") -%}
    {%- endfor -%}
    {%- do ctes.append("contraction_names as (select label, min(node) as component_id from contraction_labels_1 group by label)") -%}
    {%- do ctes.append("contraction_labels as (\n"
        ~ "    select contraction_labels_1.node, contraction_names.component_id as label\n"
        ~ "    from contraction_labels_1\n"
        ~ "    inner join contraction_names on contraction_names.label = contraction_labels_1.label\n)") -%}
    {{ return(ctes | join(',\n')) }}
{%- endmacro %}

{#- Connected components of `edges_sql` (columns node_a < node_b, integer node ids below 2^31).
    Returns {'ctes': CTE text to place first (ends with a comma), 'labels': SQL of (node, label) for
    every node on an edge, label being the smallest node of its component, 'rounds': SQL scalar,
    'remaining_edges': SQL scalar}. The loop leaves one scratch table, `labels`, for the model's
    post-hook to drop. -#}
{% macro identity_connected_components(edges_sql) -%}
    {%- set rules = identity_rules() -%}
    {%- set max_rounds = rules.max_rounds -%}
    {%- set empty = {'ctes': '', 'labels': 'select cast(null as bigint) as node, cast(null as bigint) as label where 1 = 0',
                     'rounds': '0', 'remaining_edges': '0'} -%}
    {%- if rules.strategy == 'loop' -%}
        {%- if not execute -%}
            {{ return(empty) }}
        {%- endif -%}
        {#- Two statements a round (the map, the rewritten edges) plus a drop; the edge count comes back
            from the create statement where the engine reports it. Then one statement chains the maps. -#}
        {%- set state = namespace(rounds=0, remaining=identity_create_scratch_table('edges_0', edges_sql)) -%}
        {%- set maps = [] -%}
        {%- for round in range(1, max_rounds + 1) if state.remaining > 0 -%}
            {%- set edges = identity_scratch_relation('edges_' ~ (round - 1)) -%}
            {%- do identity_create_scratch_table('map_' ~ round, identity_contraction_map(edges, round)) -%}
            {%- do maps.append(identity_scratch_relation('map_' ~ round)) -%}
            {%- set state.remaining = identity_create_scratch_table('edges_' ~ round,
                identity_contraction_edges(edges, identity_scratch_relation('map_' ~ round))) -%}
            {%- do run_query("drop table if exists " ~ edges) -%}
            {%- set state.rounds = round -%}
        {%- endfor -%}
        {%- do run_query("drop table if exists " ~ identity_scratch_relation('edges_' ~ state.rounds)) -%}
        {%- if state.rounds == 0 -%}
            {{ return(empty) }}
        {%- endif -%}
        {%- do identity_create_scratch_table('labels',
            "with " ~ identity_contraction_labels(maps) ~ "\nselect node, label from contraction_labels") -%}
        {%- for map in maps -%}
            {%- do run_query("drop table if exists " ~ map) -%}
        {%- endfor -%}
        {{ return({'ctes': '', 'labels': 'select node, label from ' ~ identity_scratch_relation('labels'),
                   'rounds': state.rounds | string, 'remaining_edges': state.remaining | string}) }}
    {%- else -%}
        {%- set ctes = ["contraction_edges_0 as (\n" ~ edges_sql ~ "\n)"] -%}
        {%- set maps = [] -%}
        {%- for round in range(1, max_rounds + 1) -%}
            {%- do ctes.append("contraction_map_" ~ round ~ " as (\n" ~ identity_contraction_map('contraction_edges_' ~ (round - 1), round) ~ "\n)") -%}
            {%- do ctes.append("contraction_edges_" ~ round ~ " as (\n" ~ identity_contraction_edges('contraction_edges_' ~ (round - 1), 'contraction_map_' ~ round) ~ "\n)") -%}
            {%- do maps.append('contraction_map_' ~ round) -%}
        {%- endfor -%}
        {%- do ctes.append(identity_contraction_labels(maps)) -%}
        {%- set rounds = [] -%}
        {%- for round in range(0, max_rounds) -%}
            {%- do rounds.append("select " ~ (round + 1) ~ " as round from contraction_edges_" ~ round ~ " having count(*) > 0") -%}
        {%- endfor -%}
        {{ return({'ctes': ctes | join(',\n') ~ ',',
                   'labels': 'select node, label from contraction_labels',
                   'rounds': '(select coalesce(max(round), 0) from (' ~ rounds | join(' union all ') ~ ') as rounds_with_edges)',
                   'remaining_edges': '(select count(*) from contraction_edges_' ~ max_rounds ~ ')'}) }}
    {%- endif -%}
{%- endmacro %}

{#- Multi-source breadth-first search, one round: unassigned neighbours of the last frontier take the
    anchor whose link completed earliest (then the earliest-seen anchor, then the lowest id). -#}
{% macro identity_nearest_anchor_step(frontier, assigned, edges) -%}
    select node, anchor, anchor_first_seen, path_seen, distance
    from (
        select
            edges.node_to as node,
            frontier.anchor,
            frontier.anchor_first_seen,
            case when edges.first_seen > frontier.path_seen then edges.first_seen else frontier.path_seen end as path_seen,
            frontier.distance + 1 as distance,
            row_number() over (
                partition by edges.node_to
                order by case when edges.first_seen > frontier.path_seen then edges.first_seen else frontier.path_seen end,
                    frontier.anchor_first_seen, frontier.anchor
            ) as preference
        from {{ frontier }} as frontier
        inner join {{ edges }} as edges on edges.node_from = frontier.node
        where not exists (select 1 from {{ assigned }} as assigned where assigned.node = edges.node_to)
    ) as candidates
    where preference = 1
{%- endmacro %}

{#- Each node reachable from `seeds_sql` (node, anchor, anchor_first_seen, path_seen, distance) over
    `edges_sql` (node_from, node_to, first_seen; both directions) joins its nearest anchor.
    Returns {'ctes', 'assigned' (SQL with the seed columns), 'rounds'}. -#}
{% macro identity_nearest_anchor(seeds_sql, edges_sql) -%}
    {%- set rules = identity_rules() -%}
    {%- set max_rounds = rules.max_rounds -%}
    {%- set empty = 'select cast(null as bigint) as node, cast(null as bigint) as anchor, cast(null as timestamp) as anchor_first_seen, cast(null as timestamp) as path_seen, 0 as distance where 1 = 0' -%}
    {%- if rules.strategy == 'loop' -%}
        {%- if not execute -%}
            {{ return({'ctes': '', 'assigned': empty, 'rounds': '0'}) }}
        {%- endif -%}
        {#- Same scratch tables as the contraction loop; `anchor_assigned` is left for the model's post-hook. -#}
        {%- set edges = identity_scratch_relation('anchor_edges') -%}
        {%- set assigned = identity_scratch_relation('anchor_assigned') -%}
        {%- do identity_create_scratch_table('anchor_edges', edges_sql) -%}
        {%- do identity_create_scratch_table('anchor_assigned', seeds_sql) -%}
        {%- do identity_create_scratch_table('anchor_frontier_0', "select * from " ~ assigned) -%}
        {%- set state = namespace(rounds=0, added=1) -%}
        {%- for round in range(1, max_rounds + 1) if state.added > 0 -%}
            {%- set previous = identity_scratch_relation('anchor_frontier_' ~ (round - 1)) -%}
            {%- set state.added = identity_create_scratch_table('anchor_frontier_' ~ round,
                identity_nearest_anchor_step(previous, assigned, edges)) -%}
            {%- do run_query("drop table if exists " ~ previous) -%}
            {%- do run_query("insert into " ~ assigned ~ " select * from " ~ identity_scratch_relation('anchor_frontier_' ~ round)) -%}
            {%- set state.rounds = round -%}
        {%- endfor -%}
        {%- do run_query("drop table if exists " ~ edges) -%}
        {%- do run_query("drop table if exists " ~ identity_scratch_relation('anchor_frontier_' ~ state.rounds)) -%}
        {{ return({'ctes': '', 'assigned': 'select * from ' ~ assigned, 'rounds': state.rounds | string}) }}
    {%- else -%}
        {%- set ctes = ["anchor_edges as (\n" ~ edges_sql ~ "\n)", "anchor_frontier_0 as (\n" ~ seeds_sql ~ "\n)",
                        "anchor_assigned_0 as (select * from anchor_frontier_0)"] -%}
        {%- for round in range(1, max_rounds + 1) -%}
            {%- do ctes.append("anchor_frontier_" ~ round ~ " as (\n" ~ identity_nearest_anchor_step('anchor_frontier_' ~ (round - 1), 'anchor_assigned_' ~ (round - 1), 'anchor_edges') ~ "\n)") -%}
            {%- do ctes.append("anchor_assigned_" ~ round ~ " as (select * from anchor_assigned_" ~ (round - 1) ~ " union all select * from anchor_frontier_" ~ round ~ ")") -%}
        {%- endfor -%}
        {{ return({'ctes': ctes | join(',\n') ~ ',', 'assigned': 'select * from anchor_assigned_' ~ max_rounds,
                   'rounds': '(select coalesce(max(distance), 0) from anchor_assigned_' ~ max_rounds ~ ')'}) }}
    {%- endif -%}
{%- endmacro %}
