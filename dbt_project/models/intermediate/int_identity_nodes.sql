{#- One row per usable identifier: a dense integer node id (in (id_type, id_value) order, so a rebuild
    numbers them the same way), its rule priority, when it was first and last seen, and whether it was only
    ever named as an alias previous_id (an explicit merge: such an id never counts against a limit). -#}
with

identifiers as (

    select * from {{ ref('int_identifiers_extracted') }}
    where blocked_by is null

),

seen as (

    {#- int_identifiers_extracted holds each (event, identifier) once (a tested contract), so a plain count
        is the number of events that carried the identifier: no per-event pre-aggregation needed. -#}
    select
        id_type,
        id_value,
        min(event_at) as first_seen,
        max(event_at) as last_seen,
        count(*) as event_count,
        {{ dbt.bool_or('not via_alias') }} as seen_outside_alias
    from identifiers
    group by id_type, id_value

),

type_offsets as (

    {#- Numbering within each type (a partitioned window runs in parallel, one global sort does not),
        shifted by the identifiers of the types before it: the same ids as (id_type, id_value) order. -#}
    select
        id_type,
        cast(coalesce(sum(count(*)) over (order by id_type rows between unbounded preceding and 1 preceding), 0) as bigint)
            as nodes_before
    from seen
    group by id_type

),

final as (

    select
        type_offsets.nodes_before + row_number() over (partition by seen.id_type order by seen.id_value) as node_id,
        seen.id_type,
        seen.id_value,
        {{ identity_rule_case('seen.id_type', 'priority') }} as priority,
        seen.first_seen,
        seen.last_seen,
        seen.event_count,
        not seen.seen_outside_alias as is_alias_only
    from seen
    inner join type_offsets on type_offsets.id_type = seen.id_type

)

select node_id, id_type, id_value, priority, first_seen, last_seen, event_count, is_alias_only from final
