{#- One row per stitched person: when first and last seen, the latest value of each configured identifier
    type (user_id and email feed audiences and reverse ETL) and how many of each it holds. -#}
{%- set id_types = identity_rules().identifiers.keys() | list -%}

with

graph as (

    select * from {{ ref('identity_graph') }}

),

final as (

    select
        profile_id,
        min(first_seen) as first_seen,
        max(last_seen) as last_seen,
        {% for id_type in id_types %}
        {{ identity_arg_max("case when id_type = '" ~ id_type ~ "' then id_value end",
                            "case when id_type = '" ~ id_type ~ "' then last_seen end") }} as {{ id_type }},
        count(case when id_type = '{{ id_type }}' then 1 end) as {{ id_type }}_count,
        {% endfor %}
        count(*) as identifier_count
    from graph
    group by profile_id

)

select
    profile_id,
    first_seen,
    last_seen,
    {% for id_type in id_types %}
    {{ id_type }},
    {{ id_type }}_count,
    {% endfor %}
    identifier_count
from final
