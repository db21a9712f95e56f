{#- One row per identifier an event carries; blocked values never take part in stitching. -#}
with

events as (

    select * from {{ ref('stg_cdp__events') }}

),

unpivoted as (

    {% set id_columns = ['user_id', 'anonymous_id', 'email', 'device_id', 'advertising_id', 'previous_id'] %}
    {% for column in id_columns %}
    select
        event_id,
        event_at,
        '{{ "anonymous_id" if column == "previous_id" else column }}' as id_type,
        {{ column }} as id_value
    from events
    where {{ column }} is not null
    {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

final as (

    select event_id, event_at, id_type, id_value
    from unpivoted
    where lower(trim(id_value)) not in (
        {%- for value in var('identity_blocked_values') %}'{{ value }}'{% if not loop.last %}, {% endif %}{% endfor -%}
    )

)

select * from final
