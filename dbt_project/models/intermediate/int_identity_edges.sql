{#- Each event links every identifier it carries to its strongest one (a star per event is enough to connect them). -#}
with

identifiers as (

    select * from {{ ref('int_identifiers_extracted') }}

),

ranked as (

    select
        event_id,
        id_type || ':' || id_value as node,
        row_number() over (
            partition by event_id
            order by case id_type when 'user_id' then 1 when 'email' then 2 when 'anonymous_id' then 3 else 4 end,
                id_value
        ) as strength
    from identifiers

),

final as (

    select distinct anchor.node as node_a, other.node as node_b
    from ranked as anchor
    inner join ranked as other
        on anchor.event_id = other.event_id and other.strength > 1
    where anchor.strength = 1

)

select * from final
