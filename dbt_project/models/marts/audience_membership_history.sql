{#- One row per stay of a profile in an audience. State through the DAG: incremental on itself and kept by
    `--full-refresh` (`full_refresh: false`). Each build writes only what changed at `as_of`: stays that
    ended (exited_at = as_of; an audience whose file was removed ends every stay) and stays that began
    (entered_at = as_of). `changed_at` says which build wrote a row (audience_sizes counts from it). -#}
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key=['audience', 'profile_id', 'entered_at'],
    full_refresh=false,
) }}
{%- set audiences = cdp.audience_specs() %}

with

flags as (

    select * from {{ ref('int_audience_members_evaluated') }}

),

current_members as (

    {{ cdp.audience_members_from_flags(audiences, 'flags') }}

),

{% if is_incremental() %}
open_stays as (

    select audience, profile_id, entered_at from {{ this }} where exited_at is null

),

ended as (

    select
        open_stays.audience,
        open_stays.profile_id,
        open_stays.entered_at,
        {{ cdp.as_of() }} as exited_at
    from open_stays
    where not exists (
        select 1 from current_members
        where current_members.audience = open_stays.audience
            and current_members.profile_id = open_stays.profile_id
    )

),

began as (

    select
        current_members.audience,
        current_members.profile_id,
        {{ cdp.as_of() }} as entered_at,
        cast(null as {{ dbt.type_timestamp() }}) as exited_at
    from current_members
    where not exists (
        select 1 from open_stays
        where open_stays.audience = current_members.audience
            and open_stays.profile_id = current_members.profile_id
    )

),

changes as (

    select * from ended
    union all
    select * from began

),
{% else %}
changes as (

    select
        audience,
        profile_id,
        {{ cdp.as_of() }} as entered_at,
        cast(null as {{ dbt.type_timestamp() }}) as exited_at
    from current_members

),
{% endif %}

final as (

    select
        audience,
        profile_id,
        entered_at,
        exited_at,
        {{ cdp.run_started_at_literal() }} as changed_at
    from changes

)

select audience, profile_id, entered_at, exited_at, changed_at from final
