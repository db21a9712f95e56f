{#- SQL traits: any macro of this project named `sql_trait__<anything>` returning a select keyed by
    `profile_id` (one row per profile). `profile_traits` finds them by name while dbt parses it, so the
    refs they make become its dependencies: adding a file under macros/traits/sql/ is all it takes.

    Why macros and not models: dbt records a model's dependencies by rendering it at parse time, when the
    `graph` of other models is still empty, so a model cannot discover sibling models; the macros of the
    project, though, are all parsed first and can be listed from the project's namespace. -#}

{% macro sql_trait_prefix() -%}{{ return('sql_trait__') }}{%- endmacro %}

{#- Names of the SQL-trait macros, sorted so the column order is stable. Var `sql_traits` (a list of
    macro names) narrows them down: unit tests pick the ones they test, so a SQL trait reading another
    model never needs fixtures in unrelated unit tests. -#}
{% macro sql_trait_macro_names() -%}
    {%- set names = [] -%}
    {%- for name in context[project_name] -%}
        {%- if name.startswith(cdp.sql_trait_prefix()) -%}{%- do names.append(name) -%}{%- endif -%}
    {%- endfor -%}
    {%- set chosen = var('sql_traits', none) -%}
    {%- if chosen is not none -%}
        {%- for name in chosen if name not in names -%}
            {{ exceptions.raise_compiler_error("var `sql_traits` names '" ~ name ~ "', but no macro has that name (found: " ~ names | join(', ') ~ ")") }}
        {%- endfor -%}
        {%- set names = chosen -%}
    {%- endif -%}
    {{ return(names | sort) }}
{%- endmacro %}

{#- The select a SQL trait macro returns. -#}
{% macro sql_trait_select(macro_name) -%}
    {{ return(context[project_name][macro_name]()) }}
{%- endmacro %}
