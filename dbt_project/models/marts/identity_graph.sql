with

identifiers as (

    select * from {{ ref('int_identifiers_extracted') }}

),

components as (

    select * from {{ ref('int_identity_components') }}

),

seen as (

    select
        id_type,
        id_value,
        min(event_at) as first_seen,
        max(event_at) as last_seen
    from identifiers
    group by id_type, id_value

),

final as (

    select
        seen.id_type,
        seen.id_value,
        {{ dbt.hash('components.label') }} as profile_id,
        seen.first_seen,
        seen.last_seen
    from seen
    inner join components on components.node = seen.id_type || ':' || seen.id_value

)

select id_type, id_value, profile_id, first_seen, last_seen from final
