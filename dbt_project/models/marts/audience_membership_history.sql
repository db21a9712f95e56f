{#- One row per stay of a profile in an audience. Built from the previous build of itself, so stays
    survive rebuilds: open stays stay open while the profile is in, close at `as_of` when it leaves. -#}
{% set previous = adapter.get_relation(this.database, this.schema, this.identifier) if execute else none %}

with

current_members as (

    select audience, profile_id, entered_at from {{ ref('audience_membership') }}

),

{% if previous %}
history as (

    select audience, profile_id, entered_at, exited_at from {{ this }}

),

open_stays as (

    select * from history where exited_at is null

),

closed_stays as (

    select * from history where exited_at is not null

),

continuing_or_ended as (

    select
        open_stays.audience,
        open_stays.profile_id,
        open_stays.entered_at,
        case when current_members.profile_id is null then {{ as_of() }} end as exited_at
    from open_stays
    left join current_members
        on current_members.audience = open_stays.audience
        and current_members.profile_id = open_stays.profile_id

),

new_stays as (

    select
        current_members.audience,
        current_members.profile_id,
        current_members.entered_at,
        cast(null as {{ dbt.type_timestamp() }}) as exited_at
    from current_members
    where not exists (
        select 1 from open_stays
        where open_stays.audience = current_members.audience
            and open_stays.profile_id = current_members.profile_id
    )

),

final as (

    select * from closed_stays
    union all
    select * from continuing_or_ended
    union all
    select * from new_stays

)
{% else %}
final as (

    select
        audience,
        profile_id,
        entered_at,
        cast(null as {{ dbt.type_timestamp() }}) as exited_at
    from current_members

)
{% endif %}

select audience, profile_id, entered_at, exited_at from final
