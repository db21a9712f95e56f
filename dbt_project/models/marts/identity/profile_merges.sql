{#- One row per profile id absorbed into another, kept across builds: the rows of earlier builds are read
    back from this table, and each build adds the merges it made. reason names the identifier whose link
    joined the absorbed profile to the survivor.
    Spark appends each build's new merges instead (incremental, kept by `--full-refresh`): its table
    materialisation drops a Parquet table before creating it again, so the build could not read it back. -#}
{{ config(**cdp.self_reading_table_config()) }}
{%- set previous = adapter.get_relation(this.database, this.schema, this.identifier) if execute else none -%}

with

profile_ids as (

    select * from {{ ref('int_identity_profile_ids') }}

),

edges as (

    select * from {{ ref('int_identity_edges') }}
    where dropped_by is null

),

absorbed as (

    select distinct previous_profile_id as from_profile_id, profile_id as to_profile_id
    from profile_ids
    where previous_profile_absorbed

),

linking_edges as (

    {#- Kept edges from an identifier of the absorbed profile to one outside it, in the same profile now. -#}
    select
        absorbed.from_profile_id,
        outside.id_type as linked_by_id_type,
        outside.id_value as linked_by_id_value,
        edges.first_seen as linked_at,
        row_number() over (
            partition by absorbed.from_profile_id
            order by edges.first_seen desc, outside.id_type, outside.id_value
        ) as recency
    from absorbed
    inner join profile_ids as inside on inside.previous_profile_id = absorbed.from_profile_id
    inner join edges on inside.node_id in (edges.node_a, edges.node_b)
    inner join profile_ids as outside
        on outside.node_id = case when edges.node_a = inside.node_id then edges.node_b else edges.node_a end
    where outside.profile_id = absorbed.to_profile_id
        and (outside.previous_profile_id is null or outside.previous_profile_id <> absorbed.from_profile_id)

),

new_merges as (

    select
        absorbed.from_profile_id,
        absorbed.to_profile_id,
        {{ as_of() }} as merged_at,
        linking_edges.linked_by_id_type || ':' || linking_edges.linked_by_id_value as reason,
        linking_edges.linked_by_id_type,
        linking_edges.linked_by_id_value,
        linking_edges.linked_at
    from absorbed
    left join linking_edges
        on linking_edges.from_profile_id = absorbed.from_profile_id and linking_edges.recency = 1

),

{% if is_incremental() %}
all_merges as (

    select from_profile_id, to_profile_id, merged_at, reason, linked_by_id_type, linked_by_id_value, linked_at
    from new_merges
    where from_profile_id not in (select from_profile_id from {{ this }})

),
{% elif previous %}
all_merges as (

    select from_profile_id, to_profile_id, merged_at, reason, linked_by_id_type, linked_by_id_value, linked_at
    from {{ this }}
    union all
    select from_profile_id, to_profile_id, merged_at, reason, linked_by_id_type, linked_by_id_value, linked_at
    from new_merges
    where from_profile_id not in (select from_profile_id from {{ this }})

),
{% else %}
all_merges as (

    select * from new_merges

),
{% endif %}

final as (

    select from_profile_id, to_profile_id, merged_at, reason, linked_by_id_type, linked_by_id_value, linked_at
    from all_merges

)

select from_profile_id, to_profile_id, merged_at, reason, linked_by_id_type, linked_by_id_value, linked_at from final
