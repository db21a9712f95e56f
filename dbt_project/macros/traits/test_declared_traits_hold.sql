{#- The checks each declared trait asks for (`not_null`, `accepted_range`), as one test over
    profile_traits: every failing row names the profile, the trait and the broken rule. -#}
{% test declared_traits_hold(model) %}
{%- set checks = [] -%}
{%- for trait in cdp.trait_declarations() -%}
    {%- if trait.not_null -%}
        {%- do checks.append((trait.name, 'not_null', trait.name ~ ' is null')) -%}
    {%- endif -%}
    {%- if 'min' in trait.accepted_range -%}
        {%- do checks.append((trait.name, 'min ' ~ trait.accepted_range.min, trait.name ~ ' < ' ~ trait.accepted_range.min)) -%}
    {%- endif -%}
    {%- if 'max' in trait.accepted_range -%}
        {%- do checks.append((trait.name, 'max ' ~ trait.accepted_range.max, trait.name ~ ' > ' ~ trait.accepted_range.max)) -%}
    {%- endif -%}
{%- endfor -%}
{%- if checks -%}
{%- for name, rule, failing in checks %}
select profile_id, '{{ name }}' as trait, '{{ rule }}' as rule
from {{ model }}
where {{ failing }}
{% if not loop.last %}union all{% endif %}
{%- endfor %}
{%- else -%}
select profile_id, '' as trait, '' as rule from {{ model }} where 1 = 0
{%- endif %}
{% endtest %}
