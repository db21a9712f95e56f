{#- Iterative graph steps driven in one of two ways (var `identity_components_strategy`):
    - loop: at execution time, one scratch table per round via run_query until nothing changes
      (bounded by `identity_max_rounds`); only the final labels table is read by the model.
    - unrolled: the same round SQL as a chain of `identity_max_rounds` CTEs (for dbt unit tests and
      engines where scratch tables are unwelcome).
    Either way the model reports `rounds` and `remaining_edges`, and data tests fail when edges remain. -#}

{#- Scratch tables sit beside the model as <model>__<suffix>; the model's post-hook drops the one it reads last. -#}
{% macro identity_scratch_name(suffix) -%}
    {{ this.schema }}.{{ this.identifier }}__{{ suffix }}
{%- endmacro %}

{#- Randomized contraction, one round: every node picks, among itself and its neighbours, the one with
    the smallest round hash as representative. -#}
{% macro identity_contraction_map(edges, round) -%}
    select
        node,
        case
            when min(neighbour_hash) < {{ identity_round_hash('node', round) }} then {{ identity_arg_min('neighbour', 'neighbour_hash') }}
            else node
        end as representative
    from (
        select node_a as node, node_b as neighbour, {{ identity_round_hash('node_b', round) }} as neighbour_hash from {{ edges }}
        union all
        select node_b as node, node_a as neighbour, {{ identity_round_hash('node_a', round) }} as neighbour_hash from {{ edges }}
    ) as candidates
    group by node
{%- endmacro %}

{#- The edges rewritten to representatives, self-loops and duplicates dropped. -#}
{% macro identity_contraction_edges(edges, map) -%}
    select distinct
        case when map_a.representative < map_b.representative then map_a.representative else map_b.representative end as node_a,
        case when map_a.representative < map_b.representative then map_b.representative else map_a.representative end as node_b
    from {{ edges }} as edges
    inner join {{ map }} as map_a on map_a.node = edges.node_a
    inner join {{ map }} as map_b on map_b.node = edges.node_b
    where map_a.representative <> map_b.representative
{%- endmacro %}

{#- Chains the round maps backwards: a node's label is its representative's label in the next round. -#}
{% macro identity_contraction_compose(map, next_labels) -%}
    select map.node, coalesce(next_labels.label, map.representative) as label
    from {{ map }} as map
    left join {{ next_labels }} as next_labels on next_labels.node = map.representative
{%- endmacro %}

{#- Connected components of `edges_sql` (columns node_a < node_b, integer node ids < 2^32).
    Returns {'labels': SQL of (node, label) for every node on an edge, 'rounds': SQL scalar,
    'remaining_edges': SQL scalar, 'ctes': CTE text to place before them (unrolled only)}. -#}
{% macro identity_connected_components(edges_sql) -%}
    {%- set rules = identity_rules() -%}
    {%- set max_rounds = rules.max_rounds -%}
    {%- if rules.strategy == 'loop' -%}
        {%- if not execute -%}
            {{ return({'ctes': '', 'labels': 'select cast(null as bigint) as node, cast(null as bigint) as label where 1 = 0',
                       'rounds': '0', 'remaining_edges': '0'}) }}
        {%- endif -%}
        {%- do run_query("create or replace table " ~ identity_scratch_name('edges_0') ~ " as " ~ edges_sql) -%}
        {%- set state = namespace(rounds=0, remaining=run_query("select count(*) from " ~ identity_scratch_name('edges_0')).columns[0].values()[0]) -%}
        {%- for round in range(1, max_rounds + 1) if state.remaining > 0 -%}
            {%- set edges = identity_scratch_name('edges_' ~ (round - 1)) -%}
            {%- set map = identity_scratch_name('map_' ~ round) -%}
            {%- do run_query("create or replace table " ~ map ~ " as " ~ identity_contraction_map(edges, round)) -%}
            {%- do run_query("create or replace table " ~ identity_scratch_name('edges_' ~ round) ~ " as " ~ identity_contraction_edges(edges, map)) -%}
            {%- do run_query("drop table if exists " ~ edges) -%}
            {%- set state.rounds = round -%}
            {%- set state.remaining = run_query("select count(*) from " ~ identity_scratch_name('edges_' ~ round)).columns[0].values()[0] -%}
            {%- if state.remaining == 0 -%}{%- do run_query("drop table if exists " ~ identity_scratch_name('edges_' ~ round)) -%}{%- endif -%}
        {%- endfor -%}
        {%- if state.rounds == 0 -%}
            {%- do run_query("drop table if exists " ~ identity_scratch_name('edges_0')) -%}
            {{ return({'ctes': '', 'labels': 'select cast(null as bigint) as node, cast(null as bigint) as label where 1 = 0',
                       'rounds': '0', 'remaining_edges': '0'}) }}
        {%- endif -%}
        {%- do run_query("create or replace table " ~ identity_scratch_name('labels_' ~ state.rounds) ~ " as select node, representative as label from " ~ identity_scratch_name('map_' ~ state.rounds)) -%}
        {%- for round in range(state.rounds - 1, 0, -1) -%}
            {%- do run_query("create or replace table " ~ identity_scratch_name('labels_' ~ round) ~ " as "
                ~ identity_contraction_compose(identity_scratch_name('map_' ~ round), identity_scratch_name('labels_' ~ (round + 1)))) -%}
            {%- do run_query("drop table if exists " ~ identity_scratch_name('labels_' ~ (round + 1))) -%}
        {%- endfor -%}
        {%- for round in range(1, state.rounds + 1) -%}
            {%- do run_query("drop table if exists " ~ identity_scratch_name('map_' ~ round)) -%}
        {%- endfor -%}
        {{ return({'ctes': '', 'labels': 'select node, label from ' ~ identity_scratch_name('labels_1'),
                   'rounds': state.rounds | string, 'remaining_edges': state.remaining | string}) }}
    {%- else -%}
        {%- set ctes = ["contraction_edges_0 as (\n" ~ edges_sql ~ "\n)"] -%}
        {%- for round in range(1, max_rounds + 1) -%}
            {%- do ctes.append("contraction_map_" ~ round ~ " as (\n" ~ identity_contraction_map('contraction_edges_' ~ (round - 1), round) ~ "\n)") -%}
            {%- do ctes.append("contraction_edges_" ~ round ~ " as (\n" ~ identity_contraction_edges('contraction_edges_' ~ (round - 1), 'contraction_map_' ~ round) ~ "\n)") -%}
        {%- endfor -%}
        {%- do ctes.append("contraction_labels_" ~ max_rounds ~ " as (select node, representative as label from contraction_map_" ~ max_rounds ~ ")") -%}
        {%- for round in range(max_rounds - 1, 0, -1) -%}
            {%- do ctes.append("contraction_labels_" ~ round ~ " as (\n" ~ identity_contraction_compose('contraction_map_' ~ round, 'contraction_labels_' ~ (round + 1)) ~ "\n)") -%}
        {%- endfor -%}
        {%- set rounds = [] -%}
        {%- for round in range(0, max_rounds) -%}
            {%- do rounds.append("select " ~ (round + 1) ~ " as round from contraction_edges_" ~ round ~ " having count(*) > 0") -%}
        {%- endfor -%}
        {{ return({'ctes': ctes | join(',\n') ~ ',',
                   'labels': 'select node, label from contraction_labels_1',
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
        {%- set edges = identity_scratch_name('anchor_edges_0') -%}
        {%- set assigned = identity_scratch_name('anchor_assigned_0') -%}
        {%- do run_query("create or replace table " ~ edges ~ " as " ~ edges_sql) -%}
        {%- do run_query("create or replace table " ~ assigned ~ " as " ~ seeds_sql) -%}
        {%- do run_query("create or replace table " ~ identity_scratch_name('anchor_frontier_0') ~ " as select * from " ~ assigned) -%}
        {%- set state = namespace(rounds=0, added=1) -%}
        {%- for round in range(1, max_rounds + 1) if state.added > 0 -%}
            {%- set frontier = identity_scratch_name('anchor_frontier_' ~ round) -%}
            {%- do run_query("create or replace table " ~ frontier ~ " as "
                ~ identity_nearest_anchor_step(identity_scratch_name('anchor_frontier_' ~ (round - 1)), assigned, edges)) -%}
            {%- do run_query("drop table if exists " ~ identity_scratch_name('anchor_frontier_' ~ (round - 1))) -%}
            {%- set state.added = run_query("select count(*) from " ~ frontier).columns[0].values()[0] -%}
            {%- do run_query("insert into " ~ assigned ~ " select * from " ~ frontier) -%}
            {%- set state.rounds = round -%}
        {%- endfor -%}
        {%- do run_query("drop table if exists " ~ edges) -%}
        {%- do run_query("drop table if exists " ~ identity_scratch_name('anchor_frontier_' ~ state.rounds)) -%}
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
