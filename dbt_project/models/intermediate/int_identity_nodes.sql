{#- One row per usable identifier: a dense integer node id (in (id_type, id_value) order, so a rebuild
    numbers them the same way), its rule priority, when it was first and last seen, and whether it was only
    ever named as an alias previous_id (an explicit merge: such an id never counts against a limit). -#}
with

identifiers as (

    select * from {{ ref('int_identifiers_extracted') }}
    where blocked_by is null

),

seen as (

    select
        id_type,
        id_value,
        min(event_at) as first_seen,
        max(event_at) as last_seen,
        count(distinct event_id) as event_count,
        {{ dbt.bool_or('not via_alias') }} as seen_outside_alias
    from identifiers
    group by id_type, id_value

),

final as (

    select
        row_number() over (order by id_type, id_value) as node_id,
        id_type,
        id_value,
        {{ identity_rule_case('id_type', 'priority') }} as priority,
        first_seen,
        last_seen,
        event_count,
        not seen_outside_alias as is_alias_only
    from seen

)

select node_id, id_type, id_value, priority, first_seen, last_seen, event_count, is_alias_only from final
