{#- One row per identifier with the profile it resolved to. -#}
with

profile_ids as (

    select * from {{ ref('int_identity_profile_ids') }}

),

final as (

    select id_type, id_value, profile_id, first_seen, last_seen
    from profile_ids

)

select id_type, id_value, profile_id, first_seen, last_seen from final
