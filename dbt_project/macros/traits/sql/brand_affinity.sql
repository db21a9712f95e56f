{#- A SQL trait: each profile's share of completed orders per brand (0..1), one column per brand in var
    `brand_affinity_brands` (`brand_share_<brand>`): what was bought. The predicted affinities (the chance
    of buying each brand next) are the `brand_affinity_<brand>` columns of the SQL trait `predictions`. -#}
{% macro sql_trait__brand_affinity() %}
{%- set brands = var('brand_affinity_brands', []) %}

with

orders as (

    select profile_id, {{ cdp.json_text('properties', '$.brand') }} as brand
    from {{ ref('int_events_resolved') }}
    where event_name = 'Order Completed'

),

shares as (

    select
        profile_id
        {%- for brand in brands %},
        count(case when brand = {{ cdp.trait_literal(brand) }} then 1 end) * 1.0 / count(*) as {{ cdp.brand_share_column(brand) }}
        {%- endfor %}
    from orders
    group by profile_id

)

select
    profiles.profile_id
    {%- for brand in brands %},
    coalesce(shares.{{ cdp.brand_share_column(brand) }}, 0) as {{ cdp.brand_share_column(brand) }}
    {%- endfor %}
from {{ ref('profiles') }} as profiles
left join shares on shares.profile_id = profiles.profile_id

{% endmacro %}

{#- The columns this SQL trait adds, so audiences can name them while dbt parses. -#}
{% macro sql_trait_columns__brand_affinity() -%}
    {%- set columns = [] -%}
    {%- for brand in var('brand_affinity_brands', []) -%}{%- do columns.append(cdp.brand_share_column(brand)) -%}{%- endfor -%}
    {{ return(columns) }}
{%- endmacro %}

{% macro brand_share_column(brand) -%}
    {{ return('brand_share_' ~ modules.re.sub('[^a-z0-9]+', '_', brand | lower) | trim('_')) }}
{%- endmacro %}
