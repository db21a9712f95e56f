with

graph as (

    select * from {{ ref('identity_graph') }}

),

final as (

    select
        profile_id,
        min(first_seen) as first_seen,
        max(last_seen) as last_seen,
        {% for id_type in ['user_id', 'email', 'anonymous_id', 'device_id'] %}
        max(case when id_type = '{{ id_type }}' then id_value end) as {{ id_type }},
        count(case when id_type = '{{ id_type }}' then 1 end) as {{ id_type }}_count,
        {% endfor %}
        count(*) as identifier_count
    from graph
    group by profile_id

)

select * from final
