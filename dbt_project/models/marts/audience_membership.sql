{#- Who is in which audience now: the open stays of the history (so entered_at is when the current stay
    began) with the payload of the latest evaluation. -#}

with

stays as (

    select * from {{ ref('audience_membership_history') }}

),

evaluated as (

    select * from {{ ref('int_audience_members_evaluated') }}

),

final as (

    select
        stays.audience,
        stays.profile_id,
        stays.entered_at,
        evaluated.email,
        evaluated.user_id,
        evaluated.payload
    from stays
    inner join evaluated
        on evaluated.audience = stays.audience
        and evaluated.profile_id = stays.profile_id
    where stays.exited_at is null

)

select audience, profile_id, entered_at, email, user_id, payload from final
