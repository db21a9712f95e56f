{#- One row per (audience, build): members at the evaluation moment and the stays that began and ended in
    this build. Appended by every build and kept by `--full-refresh`, so sizes plot over time. An audience
    whose file was removed gets one last row with its exits. -#}
{{ config(materialized='incremental', incremental_strategy='append', full_refresh=false) }}
{%- set audiences = cdp.audience_specs() %}

with

flags as (

    select * from {{ ref('int_audience_members_evaluated') }}

),

members as (

    select audience, count(*) as members
    from (
        {{ cdp.audience_members_from_flags(audiences, 'flags') }}
    ) as current_members
    group by audience

),

changes as (

    select
        audience,
        count(case when exited_at is null then 1 end) as entered,
        count(case when exited_at is not null then 1 end) as exited
    from {{ ref('audience_membership_history') }}
    where changed_at = {{ cdp.run_started_at_literal() }}
    group by audience

),

declared as (

    {%- for audience in audiences %}
    select cast('{{ audience.name }}' as {{ dbt.type_string() }}) as audience
    {% if not loop.last %}union all{% endif %}
    {%- else %}
    select cast(null as {{ dbt.type_string() }}) as audience where 1 = 0
    {%- endfor %}

),

audiences as (

    select audience from declared
    union
    select audience from members
    union
    select audience from changes

),

final as (

    select
        audiences.audience,
        {{ cdp.as_of() }} as evaluated_at,
        {{ cdp.run_started_at_literal() }} as built_at,
        coalesce(members.members, 0) as members,
        coalesce(changes.entered, 0) as entered,
        coalesce(changes.exited, 0) as exited
    from audiences
    left join members on members.audience = audiences.audience
    left join changes on changes.audience = audiences.audience

)

select audience, evaluated_at, built_at, members, entered, exited from final
