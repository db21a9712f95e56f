{#- The profile id of every identifier, stable across runs. Each cluster's survivor is the previous
    profile of its highest-priority, earliest-seen identifier that had one; the other previous profiles
    in the cluster are absorbed (`previous_profile_absorbed`). A cluster with no previous profile (or whose
    previous profiles all went to other clusters after a split) gets a fresh id: the hash of its
    highest-priority, earliest-seen identifier, so a rebuild from scratch is deterministic.

    State through the DAG: this model is incremental on itself (`{{ this }}` holds every identifier's last
    assignment, kept by `--full-refresh`); each run rewrites the rows of the identifiers it sees, stamped
    with `assigned_at`, and `int_identity_profile_ids` keeps the latest run's rows. -#}
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key=['id_type', 'id_value'],
    full_refresh=false,
    on_schema_change='append_new_columns',
) }}

with

nodes as (

    select * from {{ ref('int_identity_nodes') }}

),

assigned as (

    select * from {{ ref('int_identity_nodes_assigned') }}

),

ranked as (

    select
        nodes.node_id,
        nodes.id_type,
        nodes.id_value,
        nodes.first_seen,
        nodes.last_seen,
        assigned.cluster_id,
        row_number() over (
            partition by assigned.cluster_id
            order by nodes.priority, nodes.first_seen, nodes.id_type, nodes.id_value
        ) as rank_in_cluster,
        row_number() over (order by nodes.priority, nodes.first_seen, nodes.id_type, nodes.id_value) as global_rank
    from nodes
    inner join assigned on assigned.node_id = nodes.node_id

),

{% if is_incremental() %}
previous as (

    select id_type, id_value, profile_id from {{ this }}

),

with_previous as (

    select ranked.*, previous.profile_id as previous_profile_id
    from ranked
    left join previous on previous.id_type = ranked.id_type and previous.id_value = ranked.id_value

),
{% else %}
with_previous as (

    select ranked.*, cast(null as {{ dbt.type_string() }}) as previous_profile_id
    from ranked

),
{% endif %}

claims as (

    {#- A previous profile goes to the cluster holding its best identifier. -#}
    select previous_profile_id, cluster_id, best_rank
    from (
        select
            previous_profile_id,
            cluster_id,
            min(global_rank) as best_rank,
            row_number() over (partition by previous_profile_id order by min(global_rank)) as claim_order
        from with_previous
        where previous_profile_id is not null
        group by previous_profile_id, cluster_id
    ) as per_cluster
    where claim_order = 1

),

survivors as (

    select cluster_id, previous_profile_id as profile_id
    from (
        select cluster_id, previous_profile_id, row_number() over (partition by cluster_id order by best_rank) as survivor_order
        from claims
    ) as ordered
    where survivor_order = 1

),

canonical as (

    select cluster_id, id_type || ':' || id_value as canonical_identifier
    from ranked
    where rank_in_cluster = 1

),

cluster_ids as (

    select
        canonical.cluster_id,
        coalesce(
            survivors.profile_id,
            case
                when {{ dbt.hash('canonical.canonical_identifier') }} in (select profile_id from survivors)
                    then {{ dbt.hash("canonical.canonical_identifier || ':split'") }}
                else {{ dbt.hash('canonical.canonical_identifier') }}
            end
        ) as profile_id
    from canonical
    left join survivors on survivors.cluster_id = canonical.cluster_id

),

final as (

    select
        with_previous.node_id,
        with_previous.id_type,
        with_previous.id_value,
        with_previous.first_seen,
        with_previous.last_seen,
        with_previous.cluster_id,
        cluster_ids.profile_id,
        with_previous.previous_profile_id,
        claims.previous_profile_id is not null and claims.previous_profile_id <> cluster_ids.profile_id as previous_profile_absorbed
    from with_previous
    inner join cluster_ids on cluster_ids.cluster_id = with_previous.cluster_id
    left join claims
        on claims.previous_profile_id = with_previous.previous_profile_id
        and claims.cluster_id = with_previous.cluster_id

)

select
    node_id, id_type, id_value, first_seen, last_seen, cluster_id, profile_id, previous_profile_id,
    coalesce(previous_profile_absorbed, false) as previous_profile_absorbed,
    {{ cdp.run_started_at_literal() }} as assigned_at
from final
