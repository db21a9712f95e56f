{#- Who is in which audience now. entered_at survives rebuilds: it is read back from the previous build. -#}
{% set audiences = ['trial_support_inactive'] %}
{% set previous = adapter.get_relation(this.database, this.schema, this.identifier) if execute else none %}

with

current_members as (

    {% for audience in audiences %}
    select
        '{{ audience }}' as audience,
        profile_id,
        email,
        user_id
    from {{ ref(audience) }}
    {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

{% if previous %}
previous_members as (

    select audience, profile_id, entered_at from {{ this }}

),
{% endif %}

final as (

    select
        current_members.audience,
        current_members.profile_id,
        {% if previous %}coalesce(previous_members.entered_at, {{ as_of() }}){% else %}{{ as_of() }}{% endif %} as entered_at,
        current_members.email,
        current_members.user_id
    from current_members
    {% if previous %}
    left join previous_members
        on previous_members.audience = current_members.audience
        and previous_members.profile_id = current_members.profile_id
    {% endif %}

)

select audience, profile_id, entered_at, email, user_id from final
