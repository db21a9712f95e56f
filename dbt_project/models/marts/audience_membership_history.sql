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

{#- One full outer join finds both: open stays no longer evaluated (ended now) and members without an
    open stay (began now). -#}
changes as (

    select
        coalesce(open_stays.audience, current_members.audience) as audience,
        coalesce(open_stays.profile_id, current_members.profile_id) as profile_id,
        case when open_stays.audience is null then {{ cdp.as_of() }} else open_stays.entered_at end as entered_at,
        case when open_stays.audience is not null then {{ cdp.as_of() }} end as exited_at
    from open_stays
    full outer join current_members
        on current_members.audience = open_stays.audience
        and current_members.profile_id = open_stays.profile_id
    where open_stays.audience is null or current_members.audience is null

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
