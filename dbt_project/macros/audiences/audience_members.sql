{#- Reading the shared evaluation (`int_audience_members_evaluated`: one row per profile, a flag
    `in__<audience>` per audience) as (audience, profile_id) rows. The flags table is small (booleans per
    profile), so history, membership and sizes read it instead of a table of every membership's strings. -#}
{% macro audience_members_from_flags(audiences, flags) -%}
    {%- for audience in audiences %}
    select cast('{{ audience.name }}' as {{ dbt.type_string() }}) as audience, {{ flags }}.profile_id
    from {{ flags }}
    where {{ flags }}.in__{{ audience.name }}
    {% if not loop.last %}union all{% endif %}
    {%- else %}
    select cast(null as {{ dbt.type_string() }}) as audience, cast(null as {{ dbt.type_string() }}) as profile_id
    where 1 = 0
    {%- endfor %}
{%- endmacro %}

{#- A hand-written audience's query, one row per profile (it may return a profile more than once). -#}
{% macro audience_hand_written_query(audience) -%}
    select *
    from (
        select
            hand_written.*,
            row_number() over (partition by hand_written.profile_id order by hand_written.profile_id) as row_in_profile
        from (
            {{ render(audience.query) }}
        ) as hand_written
    ) as numbered
    where row_in_profile = 1
{%- endmacro %}
