{#- How an audience file's model is built: one `create or replace view` statement. dbt's view
    materialization renames through a temporary and a backup relation (several statements, each binding
    the view again), which made the per-audience views cost more than the shared evaluation. -#}
{% materialization audience_view, default %}
    {%- set target_relation = this.incorporate(type='view') -%}
    {{ run_hooks(pre_hooks) }}
    {% call statement('main') -%}
        create or replace view {{ target_relation }} as (
            {{ sql }}
        )
    {%- endcall %}
    {{ run_hooks(post_hooks) }}
    {% do persist_docs(target_relation, model) %}
    {{ return({'relations': [target_relation]}) }}
{% endmaterialization %}
