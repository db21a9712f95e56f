{#- Marts land in the warehouse's main schema under their plain names (`profiles`, `identity_graph`),
    layers with a custom schema in that schema as is, with no target prefix. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}{{ target.schema }}{%- else -%}{{ custom_schema_name | trim }}{%- endif -%}
{%- endmacro %}
