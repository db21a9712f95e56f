{#- A SQL trait: the scores of the latest published models (source `profile_predictions`, written by
    the Dagster asset of that name), so a score or a persona is just another column of profile_traits.
    Null for profiles scored by no model yet. -#}
{% macro sql_trait__predictions() %}

with

predictions as (

    select * from {{ source('cdp', 'profile_predictions') }}

)

select
    profiles.profile_id
    {%- for name, type in cdp.prediction_columns() %},
    predictions.{{ name }}
    {%- endfor %}
from {{ ref('profiles') }} as profiles
left join predictions on predictions.profile_id = profiles.profile_id

{% endmacro %}

{#- The columns this SQL trait adds, so audiences can name them while dbt parses. -#}
{% macro sql_trait_columns__predictions() -%}
    {{ return(cdp.prediction_columns() | map(attribute=0) | list) }}
{%- endmacro %}
