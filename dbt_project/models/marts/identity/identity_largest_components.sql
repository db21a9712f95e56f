{#- The largest connected components before limits are applied, as a diagnostic: a component far larger
    than the rest usually means a junk identifier is linking strangers (test `identity_no_outlier_component`
    warns). Sizes are compared with the 99th-percentile component. -#}
with

nodes as (

    select * from {{ ref('int_identity_nodes') }}

),

components as (

    select * from {{ ref('int_identity_components') }}

),

assigned as (

    select * from {{ ref('int_identity_nodes_assigned') }}

),

sizes as (

    select
        components.component_id,
        count(*) as identifier_count,
        count(distinct assigned.cluster_id) as profile_count,
        {% for id_type in identity_rules().identifiers %}
        count(case when nodes.id_type = '{{ id_type }}' then 1 end) as {{ id_type }}_count,
        {% endfor %}
        min(nodes.first_seen) as first_seen,
        max(components.rounds) as contraction_rounds
    from components
    inner join nodes on nodes.node_id = components.node_id
    inner join assigned on assigned.node_id = components.node_id
    group by components.component_id

),

distribution as (

    select
        count(*) as component_count,
        {{ identity_percentile('identifier_count', 0.99) }} as p99_identifier_count
    from sizes

),

ranked as (

    select
        sizes.*,
        row_number() over (order by sizes.identifier_count desc, sizes.component_id) as size_rank
    from sizes

),

final as (

    select
        ranked.size_rank,
        ranked.component_id,
        ranked.identifier_count,
        ranked.profile_count,
        {% for id_type in identity_rules().identifiers %}
        ranked.{{ id_type }}_count,
        {% endfor %}
        ranked.first_seen,
        ranked.contraction_rounds,
        distribution.component_count,
        distribution.p99_identifier_count,
        ranked.identifier_count / {{ dbt.safe_cast('greatest(distribution.p99_identifier_count, 1)', dbt.type_float()) }} as size_vs_p99,
        ranked.identifier_count >= {{ var('identity_outlier_min_identifiers', 50) }}
            and ranked.identifier_count > {{ var('identity_outlier_ratio', 20) }} * greatest(distribution.p99_identifier_count, 1) as is_outlier
    from ranked
    cross join distribution
    where ranked.size_rank <= {{ var('identity_largest_components', 20) }}

)

select * from final
