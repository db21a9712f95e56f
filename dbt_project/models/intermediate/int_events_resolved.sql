{#- Every event with the profile it belongs to, through its strongest identifier. -#}
with

identifiers as (

    select * from {{ ref('int_identifiers_extracted') }}

),

graph as (

    select * from {{ ref('identity_graph') }}

),

events as (

    select * from {{ ref('stg_cdp__events') }}

),

event_profiles as (

    select
        identifiers.event_id,
        min(graph.profile_id) as profile_id
    from identifiers
    inner join graph
        on graph.id_type = identifiers.id_type and graph.id_value = identifiers.id_value
    group by identifiers.event_id

),

final as (

    select
        event_profiles.profile_id,
        events.*
    from events
    inner join event_profiles on event_profiles.event_id = events.event_id

)

select * from final
