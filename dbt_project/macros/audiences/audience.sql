{#- An audience is one file under models/audiences/ calling `cdp.audience(...)`:

        {{ cdp.audience(
            description='Customers who spent a lot and have not been seen for 60 days.',
            conditions={'all': [
                {'trait': 'lifetime_value', 'op': '>=', 'value': 500},
                {'did_not_perform': '*', 'window_days': 60},
            ]},
            payload=['lifetime_value', 'favorite_brand'],
        ) }}

    or, hand-written, a `query` returning `profile_id` (plus payload columns), reading the models listed in
    `audience_query_models()` through `ref`:

        {{ cdp.audience(description='...', query="select profile_id, lifetime_value from {{ ref('profile_traits') }} where ...") }}

    Everything is checked while dbt parses the file, so bad input stops `dbt parse` with a message naming
    the file and the condition. The declaration is compiled here, once, into SQL with placeholders
    (`@@as_of@@`, `@@member:NAME@@`, `@@account_links@@`, `@@account_traits@@`) and kept in the model's
    `meta.audience`: `int_audience_event_facts` and `int_audience_members_evaluated` assemble every
    audience from it in one pass, and `cdp why` / `cdp audiences preview` evaluate the same SQL.

    The audience model itself is a view of its rows of `audience_membership` (so each audience is its
    own node in the DAG and the Dagster asset graph); membership of another audience is a `ref` to it,
    so an unknown audience name or a cycle stops the parse. -#}

{% macro audience(description=none, conditions=none, query=none, payload=none) -%}
    {#- While executing, the declaration was checked and compiled at parse time: reuse it. -#}
    {%- set parsed = model.get('config', {}).get('meta', {}).get('audience') if execute else none -%}
    {%- if parsed -%}
        {{ config(materialized='audience_view') }}
        {{ return(cdp.audience_select(parsed)) }}
    {%- endif -%}
    {%- set file = model.original_file_path -%}
    {%- set name = model.name -%}
    {%- if not modules.re.match('^[a-z][a-z0-9_]*$', name) -%}
        {{ cdp.audience_error(file, none, "the audience name (the file name) must be lower-case letters, digits and underscores, got '" ~ name ~ "'") }}
    {%- endif -%}
    {%- if description is not string or description | trim == '' -%}
        {{ cdp.audience_error(file, none, "is missing the key 'description': say who is in the audience") }}
    {%- endif -%}
    {%- if (conditions is none) == (query is none) -%}
        {{ cdp.audience_error(file, none, "needs exactly one of the keys 'conditions' (a condition tree) or 'query' (hand-written SQL returning profile_id)") }}
    {%- endif -%}
    {%- set payload = payload or [] -%}
    {%- if payload is string or payload is not sequence -%}
        {{ cdp.audience_error(file, none, "key 'payload' must be a list of profile_traits columns") }}
    {%- endif -%}
    {%- set known_traits = cdp.audience_known_traits() -%}
    {%- for column in payload -%}
        {%- if column in ['audience', 'profile_id', 'entered_at', 'email', 'user_id', 'payload'] -%}
            {{ cdp.audience_error(file, none, "payload column '" ~ column ~ "' collides with a column audience_membership already has") }}
        {%- endif -%}
        {%- if query is none and column not in known_traits -%}
            {{ cdp.audience_error(file, none, "payload names '" ~ column ~ "', which is not a trait (known: " ~ known_traits | join(', ') ~ ")") }}
        {%- endif -%}
    {%- endfor -%}

    {%- set spec = {'name': name, 'file': file, 'description': description | trim, 'payload': payload | list} -%}
    {%- if query is not none -%}
        {%- if query is not string or 'profile_id' not in query -%}
            {{ cdp.audience_error(file, none, "key 'query' must be SQL text returning a profile_id column") }}
        {%- endif -%}
        {%- for referenced in modules.re.findall("ref\\(\\s*['\"]([A-Za-z0-9_]+)['\"]\\s*\\)", query) -%}
            {%- if referenced not in cdp.audience_query_models() -%}
                {{ cdp.audience_error(file, none, "the query reads ref('" ~ referenced ~ "'); an audience query may read " ~ cdp.audience_query_models() | join(', ')) }}
            {%- endif -%}
        {%- endfor -%}
        {%- do spec.update({'kind': 'sql', 'query': query, 'audiences': [], 'facts': [], 'funnels': [], 'checks': [], 'events': []}) -%}
    {%- else -%}
        {%- set compiled = {'facts': [], 'funnels': [], 'checks': [], 'audiences': [], 'events': []} -%}
        {%- set predicate = cdp.audience_compile(conditions, file, name, 'conditions', compiled) -%}
        {%- do cdp._audience_refuse_cycles(name, file, compiled.pop('membership_paths', {})) -%}
        {%- do spec.update({'kind': 'conditions', 'conditions': conditions, 'predicate': predicate}) -%}
        {%- do spec.update(compiled) -%}
        {#- This audience's event facts on their own, for `cdp audiences preview` before it is built. -#}
        {%- if compiled.facts or compiled.funnels -%}
            {%- do spec.update({'facts_sql': cdp.audience_placeholder_as_of(cdp.audience_event_facts_select([spec], '@@events@@', '@@profiles@@'))}) -%}
        {%- endif -%}
    {%- endif -%}
    {{ config(materialized='audience_view', meta={'audience': spec}) }}
    {{ return(cdp.audience_select(spec)) }}
{%- endmacro %}

{#- The audience evaluated on its own, as the view its file builds: who is in it at the evaluation moment,
    with its payload columns. `audience_membership` evaluates every audience in one shared pass instead
    (int_audience_members_evaluated); this view is what an analyst queries, and what unit tests check. -#}
{% macro audience_select(spec) -%}
-- depends_on: {{ ref('int_events_resolved') }}, {{ ref('profile_accounts') }}, {{ ref('account_traits') }}, {{ ref('accounts') }}
with

traits as (

    select * from {{ ref('profile_traits') }}

),

profiles as (

    select * from {{ ref('profiles') }}

),
{%- if spec.kind == 'sql' %}

final as (

    select distinct hand_written.*, profiles.email, profiles.user_id
    from ({{ render(spec.query) }}) as hand_written
    left join profiles on profiles.profile_id = hand_written.profile_id

)
{%- else %}

facts as (

    {#- The facts this audience needs were compiled with its declaration (`facts_sql`): fill them in rather
        than compiling them again for every build of the view. -#}
    {%- if spec.get('facts_sql') %}
    {{ cdp.audience_fill(spec.facts_sql) | replace('@@events@@', ref('int_events_resolved') | string) | replace('@@profiles@@', ref('profiles') | string) | indent(4) }}
    {%- else %}
    {{ cdp.audience_event_facts_select([spec], ref('int_events_resolved'), ref('profiles')) | indent(4) }}
    {%- endif %}

),
{%- for other in spec.audiences %}

members__{{ other }} as (

    select profile_id from {{ ref(other) }}

),
{%- endfor %}

final as (

    select
        traits.profile_id,
        profiles.email,
        profiles.user_id
        {%- for column in spec.payload %},
        traits.{{ column }}
        {%- endfor %}
    from traits
    left join facts on facts.profile_id = traits.profile_id
    left join profiles on profiles.profile_id = traits.profile_id
    where {{ cdp.audience_fill(spec.predicate, 'view') }}

)
{%- endif %}

select * from final
{%- endmacro %}

{#- Models a hand-written (audience evaluation depends on exactly these). -#}
{% macro audience_query_models() -%}
    {{ return(['profile_traits', 'profiles', 'int_events_resolved', 'accounts', 'account_traits', 'profile_accounts']) }}
{%- endmacro %}

{% macro audience_error(file, path, message) -%}
    {{ exceptions.raise_compiler_error(
        "Bad audience in " ~ file ~ (": condition " ~ path if path else "") ~ ": " ~ message) }}
{%- endmacro %}

{#- Trait columns known while parsing: declared traits, SQL traits (named after their macro) and the
    identify keys var `identify_traits` lists. Identify keys found in the data are written
    {'identify_trait': KEY} and checked against profile_traits when the audiences build. -#}
{% macro audience_known_traits() -%}
    {%- set names = cdp.trait_declarations() | map(attribute='name') | list -%}
    {%- for macro_name in cdp.sql_trait_macro_names() -%}
        {#- A SQL trait names its columns with a macro sql_trait_columns__<name>(), else its one column is <name>. -#}
        {%- set suffix = macro_name | replace(cdp.sql_trait_prefix(), '') -%}
        {%- set declared = context[project_name].get('sql_trait_columns__' ~ suffix) -%}
        {%- do names.extend(declared() if declared else [suffix]) -%}
    {%- endfor -%}
    {%- for key in (var('identify_traits', none) or []) -%}
        {%- do names.append(modules.re.sub('([a-z0-9])([A-Z])', '\\1_\\2', key) | lower) -%}
    {%- endfor -%}
    {{ return(names) }}
{%- endmacro %}

{% macro audience_comparison_operators() -%}
    {{ return(['=', '!=', '>', '>=', '<', '<=', 'in', 'not_in', 'between', 'is_null', 'not_null', 'contains']) }}
{%- endmacro %}

{#- The account traits a condition {'account': {...}} may read (columns of `account_traits`). -#}
{% macro account_trait_names() -%}
    {{ return(['members', 'spend_365d', 'orders_365d', 'support_tickets_30d', 'open_support_tickets', 'name', 'industry', 'employees', 'plan']) }}
{%- endmacro %}

{#- `expression op value` as SQL; null never satisfies a comparison (the caller coalesces to false). -#}
{% macro audience_comparison(expression, op, value, file, path, is_list=false) -%}
    {%- if op not in cdp.audience_comparison_operators() -%}
        {{ cdp.audience_error(file, path, "unknown operator '" ~ op ~ "' (known: " ~ cdp.audience_comparison_operators() | join(', ') ~ ")") }}
    {%- endif -%}
    {%- if op == 'is_null' -%}{{ return(expression ~ ' is null') }}
    {%- elif op == 'not_null' -%}{{ return(expression ~ ' is not null') }}
    {%- endif -%}
    {%- if op in ['in', 'not_in'] -%}
        {%- if value is string or value is not sequence or value | length == 0 -%}
            {{ cdp.audience_error(file, path, "operator '" ~ op ~ "' needs a non-empty list value") }}
        {%- endif -%}
        {%- set items = [] -%}
        {%- for one in value -%}{%- do items.append(cdp.trait_literal(one)) -%}{%- endfor -%}
        {{ return(expression ~ (' not in (' if op == 'not_in' else ' in (') ~ items | join(', ') ~ ')') }}
    {%- endif -%}
    {%- if op == 'between' -%}
        {%- if value is string or value is not sequence or value | length != 2 -%}
            {{ cdp.audience_error(file, path, "operator 'between' needs a value [low, high]") }}
        {%- endif -%}
        {{ return(expression ~ ' between ' ~ cdp.trait_literal(value[0]) ~ ' and ' ~ cdp.trait_literal(value[1])) }}
    {%- endif -%}
    {%- if value is none -%}
        {{ cdp.audience_error(file, path, "operator '" ~ op ~ "' needs a value") }}
    {%- endif -%}
    {%- if op == 'contains' -%}
        {%- if is_list -%}{{ return(cdp.audience_list_contains(expression, cdp.trait_literal(value))) }}{%- endif -%}
        {{ return(expression ~ " like '%" ~ (value | string | replace("'", "''")) ~ "%'") }}
    {%- endif -%}
    {{ return(expression ~ ' ' ~ ('<>' if op == '!=' else op) ~ ' ' ~ cdp.trait_literal(value)) }}
{%- endmacro %}

{% macro audience_list_contains(expression, literal) -%}
    {{ return(adapter.dispatch('audience_list_contains', 'cdp')(expression, literal)) }}
{%- endmacro %}

{% macro default__audience_list_contains(expression, literal) -%}
    {{ return('array_contains(' ~ expression ~ ', ' ~ literal ~ ')') }}
{%- endmacro %}

{% macro duckdb__audience_list_contains(expression, literal) -%}
    {{ return('list_contains(' ~ expression ~ ', ' ~ literal ~ ')') }}
{%- endmacro %}

{#- The SQL text of `as_of()` replaced by a placeholder, so the compiled audience is evaluated at the
    moment of each build (or, in `cdp why`, of the last build). -#}
{% macro audience_placeholder_as_of(sql) -%}
    {{ return(sql | replace(cdp.as_of(), '@@as_of@@')) }}
{%- endmacro %}

{% macro _audience_check_keys(node, allowed, file, path) -%}
    {%- for key in node -%}
        {%- if key not in allowed -%}
            {{ cdp.audience_error(file, path, "unknown key '" ~ key ~ "' (this kind of condition takes: " ~ allowed | join(', ') ~ ")") }}
        {%- endif -%}
    {%- endfor -%}
{%- endmacro %}

{#- The time window of an event condition, checked: window_days (positive whole number) or between. -#}
{% macro _audience_window(node, file, path) -%}
    {%- set window_days = node.get('window_days') -%}
    {%- set between = node.get('between') -%}
    {%- if window_days is not none and (window_days is not number or window_days is boolean or window_days != (window_days | int) or window_days < 1) -%}
        {{ cdp.audience_error(file, path, "window_days must be a positive whole number of days, got '" ~ window_days ~ "'") }}
    {%- endif -%}
    {%- if between is not none -%}
        {%- if window_days is not none -%}
            {{ cdp.audience_error(file, path, "give one window: window_days or between") }}
        {%- endif -%}
        {%- if between is string or between is not sequence or between | length != 2
              or not cdp._is_iso_date(between[0]) or not cdp._is_iso_date(between[1]) or between[0] | string > between[1] | string -%}
            {{ cdp.audience_error(file, path, "between must be two dates [YYYY-MM-DD, YYYY-MM-DD], the first not after the second, got '" ~ between ~ "'") }}
        {%- endif -%}
    {%- endif -%}
    {{ return({'window_days': window_days, 'between': between}) }}
{%- endmacro %}

{#- Property filters in the trait grammar: {property: value} or [{property, op, value}]. -#}
{% macro _audience_filters(raw_where, file, path) -%}
    {%- set filters = [] -%}
    {%- if raw_where is none -%}{{ return(filters) }}{%- endif -%}
    {%- if raw_where is mapping -%}
        {%- for key, value in raw_where.items() -%}{%- do filters.append({'property': key, 'op': '=', 'value': value}) -%}{%- endfor -%}
    {%- elif raw_where is sequence and raw_where is not string -%}
        {%- for item in raw_where -%}
            {%- if item is not mapping or 'property' not in item -%}
                {{ cdp.audience_error(file, path, "where entries need `property` (and `op`, `value`), got '" ~ item ~ "'") }}
            {%- endif -%}
            {%- do filters.append({'property': item['property'], 'op': item.get('op', '='), 'value': item.get('value')}) -%}
        {%- endfor -%}
    {%- else -%}
        {{ cdp.audience_error(file, path, "where must be {property: value} or a list of {property, op, value}") }}
    {%- endif -%}
    {%- for item in filters -%}
        {%- if item.property is not string or not modules.re.match('^[A-Za-z_][A-Za-z0-9_]*([.][A-Za-z_][A-Za-z0-9_]*)*$', item.property) -%}
            {{ cdp.audience_error(file, path, "where property must be a path like 'revenue' or 'product.brand', got '" ~ item.property ~ "'") }}
        {%- endif -%}
        {%- if item.op not in cdp.trait_filter_operators() -%}
            {{ cdp.audience_error(file, path, "unknown operator '" ~ item.op ~ "' on property '" ~ item.property ~ "' (known: " ~ cdp.trait_filter_operators() | join(', ') ~ ")") }}
        {%- endif -%}
        {%- if item.op in ['in', 'not_in'] and (item.value is string or item.value is not sequence) -%}
            {{ cdp.audience_error(file, path, "operator '" ~ item.op ~ "' on property '" ~ item.property ~ "' needs a list value") }}
        {%- endif -%}
    {%- endfor -%}
    {{ return(filters) }}
{%- endmacro %}

{% macro _audience_events(event, file, path) -%}
    {%- set events = [event] if event is string else event -%}
    {%- if events is none or events is string or events is not sequence or events | length == 0 -%}
        {{ cdp.audience_error(file, path, "name the event (a name, a list of names, or '*' for any event)") }}
    {%- endif -%}
    {%- for one in events -%}
        {%- if one is not string or one | trim == '' -%}
            {{ cdp.audience_error(file, path, "event names must be text, got '" ~ one ~ "'") }}
        {%- endif -%}
    {%- endfor -%}
    {{ return(events | list) }}
{%- endmacro %}

{#- Whether an event row matches: name, window, filters, and never after the evaluation moment. -#}
{% macro _audience_event_match(events, window, filters) -%}
    {%- set matching = cdp.trait_condition({'events': events, 'window_days': window.window_days, 'between': window.between, 'filters': filters}) -%}
    {{ return(cdp.audience_placeholder_as_of('(' ~ matching ~ ' and event_at <= ' ~ cdp.as_of() ~ ')')) }}
{%- endmacro %}

{#- Compile a condition node into a SQL predicate; leaves are recorded in `compiled.checks` (for `cdp why`),
    the event aggregates they need in `compiled.facts` and funnels in `compiled.funnels`. -#}
{% macro audience_compile(node, file, name, path, compiled) -%}
    {%- if node is not mapping -%}
        {{ cdp.audience_error(file, path, "each condition is a mapping (a trait, event, funnel, audience, reachability or account condition, or an all/any/none group), got '" ~ node ~ "'") }}
    {%- endif -%}
    {%- set groups = ['all', 'any', 'none'] -%}
    {%- set group = node.keys() | select('in', groups) | list -%}
    {%- if group -%}
        {%- if group | length != 1 or node.keys() | reject('in', groups + ['description']) | list -%}
            {{ cdp.audience_error(file, path, "a group is {'all': [...]}, {'any': [...]} or {'none': [...]} (and an optional description)") }}
        {%- endif -%}
        {%- set kind = group[0] -%}
        {%- set children = node[kind] -%}
        {%- if children is string or children is not sequence or children | length == 0 -%}
            {{ cdp.audience_error(file, path, "group '" ~ kind ~ "' needs a non-empty list of conditions") }}
        {%- endif -%}
        {%- set parts = [] -%}
        {%- for child in children -%}
            {%- do parts.append(cdp.audience_compile(child, file, name, path ~ '.' ~ kind ~ '[' ~ loop.index0 ~ ']', compiled)) -%}
        {%- endfor -%}
        {%- if kind == 'all' -%}{{ return('(' ~ parts | join(' and ') ~ ')') }}
        {%- elif kind == 'any' -%}{{ return('(' ~ parts | join(' or ') ~ ')') }}
        {%- else -%}{{ return('(not (' ~ parts | join(' or ') ~ '))') }}
        {%- endif -%}
    {%- endif -%}

    {%- set description = node.get('description') -%}
    {%- set values = {} -%}
    {%- if 'trait' in node or 'identify_trait' in node -%}
        {%- set kind = 'trait' -%}
        {%- do cdp._audience_check_keys(node, ['trait', 'identify_trait', 'op', 'value', 'description'], file, path) -%}
        {%- set trait = node.get('trait') or node.get('identify_trait') -%}
        {%- set declared = cdp.trait_declarations() -%}
        {%- if 'trait' in node and trait not in cdp.audience_known_traits() -%}
            {{ cdp.audience_error(file, path, "unknown trait '" ~ trait ~ "' (known: " ~ cdp.audience_known_traits() | join(', ') ~ "; write {'identify_trait': KEY} for an identify trait found in the data)") }}
        {%- endif -%}
        {%- if trait is not string or not modules.re.match('^[a-z_][a-z0-9_]*$', trait) -%}
            {{ cdp.audience_error(file, path, "trait must be a column name, got '" ~ trait ~ "'") }}
        {%- endif -%}
        {%- set is_list = declared | selectattr('name', 'equalto', trait) | selectattr('type', 'equalto', 'unique_list') | list | length > 0 -%}
        {%- set sql = cdp.audience_comparison('traits.' ~ trait, node.get('op'), node.get('value'), file, path, is_list) -%}
        {%- do values.update({trait: 'traits.' ~ trait}) -%}
        {%- set label = trait ~ ' ' ~ node.get('op') ~ ((' ' ~ node.get('value') | tojson) if node.get('value') is not none else '') -%}
        {%- if 'identify_trait' in node -%}{%- do compiled.setdefault('identify_traits', []).append(trait) -%}{%- endif -%}

    {%- elif 'performed' in node or 'did_not_perform' in node -%}
        {%- set kind = 'event' -%}
        {%- do cdp._audience_check_keys(node, ['performed', 'did_not_perform', 'times', 'window_days', 'between', 'where', 'description'], file, path) -%}
        {%- set negated = 'did_not_perform' in node -%}
        {%- set events = cdp._audience_events(node.get('did_not_perform') if negated else node.get('performed'), file, path) -%}
        {%- set window = cdp._audience_window(node, file, path) -%}
        {%- set filters = cdp._audience_filters(node.get('where'), file, path) -%}
        {%- set times = node.get('times', {'at_least': 1}) -%}
        {%- if negated and 'times' in node -%}
            {{ cdp.audience_error(file, path, "did_not_perform takes no 'times' (write performed with times: {at_most: N})") }}
        {%- endif -%}
        {%- if times is not mapping or times | length != 1 or (times.keys() | list)[0] not in ['at_least', 'at_most', 'exactly'] -%}
            {{ cdp.audience_error(file, path, "times must be one of {at_least: N}, {at_most: N}, {exactly: N}, got '" ~ times ~ "'") }}
        {%- endif -%}
        {%- set bound = (times.keys() | list)[0] -%}
        {%- set count = times[bound] -%}
        {%- if count is not number or count is boolean or count != (count | int) or count < 0 -%}
            {{ cdp.audience_error(file, path, "times." ~ bound ~ " must be a whole number (0 or more), got '" ~ count ~ "'") }}
        {%- endif -%}
        {%- set aggregate = 'count(case when ' ~ cdp._audience_event_match(events, window, filters) ~ ' then 1 end)' -%}
        {%- set column = cdp._audience_fact(compiled, aggregate, events) -%}
        {%- set counted = 'coalesce(facts.' ~ column ~ ', 0)' -%}
        {%- if negated -%}{%- set sql = counted ~ ' = 0' -%}
        {%- else -%}{%- set sql = counted ~ ' ' ~ {'at_least': '>=', 'at_most': '<=', 'exactly': '='}[bound] ~ ' ' ~ count -%}
        {%- endif -%}
        {%- do values.update({'events counted': counted}) -%}
        {%- do compiled.events.extend(events) -%}
        {%- set label = ('did not perform ' if negated else 'performed ') ~ events | join(' or ')
            ~ ('' if negated else ' ' ~ bound | replace('_', ' ') ~ ' ' ~ count ~ ' times')
            ~ cdp._audience_window_label(window) ~ (' where ' ~ filters | map(attribute='property') | join(', ') if filters else '') -%}

    {%- elif 'aggregate' in node -%}
        {%- set kind = 'event_aggregate' -%}
        {%- do cdp._audience_check_keys(node, ['aggregate', 'event', 'property', 'op', 'value', 'window_days', 'between', 'where', 'description'], file, path) -%}
        {%- set function = node.get('aggregate') -%}
        {%- if function not in ['count', 'sum', 'avg', 'min', 'max', 'count_distinct'] -%}
            {{ cdp.audience_error(file, path, "aggregate must be one of count, sum, avg, min, max, count_distinct, got '" ~ function ~ "'") }}
        {%- endif -%}
        {%- set events = cdp._audience_events(node.get('event', '*'), file, path) -%}
        {%- set window = cdp._audience_window(node, file, path) -%}
        {%- set filters = cdp._audience_filters(node.get('where'), file, path) -%}
        {%- set property = node.get('property') -%}
        {%- if function != 'count' and (property is not string or not modules.re.match('^[A-Za-z_][A-Za-z0-9_]*([.][A-Za-z_][A-Za-z0-9_]*)*$', property)) -%}
            {{ cdp.audience_error(file, path, "aggregate '" ~ function ~ "' needs the property it reads (a path like 'revenue'), got '" ~ property ~ "'") }}
        {%- endif -%}
        {%- set match = cdp._audience_event_match(events, window, filters) -%}
        {%- if function == 'count' -%}
            {%- set aggregate = 'count(case when ' ~ match ~ ' then 1 end)' -%}
        {%- elif function == 'count_distinct' -%}
            {%- set aggregate = 'count(distinct case when ' ~ match ~ ' then ' ~ cdp.trait_property_text(property) ~ ' end)' -%}
        {%- else -%}
            {%- set aggregate = function ~ '(case when ' ~ match ~ ' then ' ~ cdp.try_cast(cdp.trait_property_text(property), dbt.type_numeric()) ~ ' end)' -%}
        {%- endif -%}
        {%- set column = cdp._audience_fact(compiled, aggregate, events) -%}
        {%- set measured = ('coalesce(facts.' ~ column ~ ', 0)') if function in ['count', 'count_distinct', 'sum'] else 'facts.' ~ column -%}
        {%- set sql = cdp.audience_comparison(measured, node.get('op'), node.get('value'), file, path) -%}
        {%- do values.update({function ~ ('' if function == 'count' else ' of ' ~ property): measured}) -%}
        {%- do compiled.events.extend(events) -%}
        {%- set label = function ~ ('' if function == 'count' else ' of ' ~ property) ~ ' over ' ~ events | join(' or ')
            ~ cdp._audience_window_label(window) ~ ' ' ~ node.get('op') ~ ' ' ~ node.get('value') -%}

    {%- elif 'funnel' in node -%}
        {%- set kind = 'funnel' -%}
        {%- do cdp._audience_check_keys(node, ['funnel', 'within_hours', 'within_days', 'completed', 'window_days', 'description'], file, path) -%}
        {%- set steps = node.get('funnel') -%}
        {%- if steps is string or steps is not sequence or steps | length != 2 -%}
            {{ cdp.audience_error(file, path, "funnel takes two steps [A, B] (event names or {event, where})") }}
        {%- endif -%}
        {%- set matches = [] -%}
        {%- set step_names = [] -%}
        {%- set step_event_names = [] -%}
        {%- for step in steps -%}
            {%- set step = {'event': step} if step is string else step -%}
            {%- if step is not mapping or 'event' not in step -%}
                {{ cdp.audience_error(file, path, "a funnel step is an event name or {event, where}, got '" ~ step ~ "'") }}
            {%- endif -%}
            {%- do cdp._audience_check_keys(step, ['event', 'where'], file, path ~ '.funnel[' ~ loop.index0 ~ ']') -%}
            {%- set step_events = cdp._audience_events(step.event, file, path) -%}
            {%- set window = cdp._audience_window(node if loop.first else {}, file, path) -%}
            {%- do matches.append(cdp._audience_event_match(step_events, window, cdp._audience_filters(step.get('where'), file, path))) -%}
            {%- do step_names.append(step_events | join(' or ')) -%}
            {%- do step_event_names.extend(step_events) -%}
            {%- do compiled.events.extend(step_events) -%}
        {%- endfor -%}
        {%- if ('within_hours' in node) == ('within_days' in node) -%}
            {{ cdp.audience_error(file, path, "a funnel needs one of within_hours or within_days") }}
        {%- endif -%}
        {%- set within = node.get('within_hours', node.get('within_days')) -%}
        {%- if within is not number or within is boolean or within != (within | int) or within < 1 -%}
            {{ cdp.audience_error(file, path, "the funnel window must be a positive whole number, got '" ~ within ~ "'") }}
        {%- endif -%}
        {%- set hours = within if 'within_hours' in node else within * 24 -%}
        {%- set completed = node.get('completed', true) -%}
        {%- if completed is not boolean -%}
            {{ cdp.audience_error(file, path, "completed must be true (A then B) or false (A without B), got '" ~ completed ~ "'") }}
        {%- endif -%}
        {%- set funnel = {'first': matches[0], 'then': matches[1], 'hours': hours, 'completed': completed} -%}
        {%- set column = 'funnel_' ~ local_md5(funnel | tojson)[:12] -%}
        {%- do funnel.update({'column': column, 'events': step_event_names}) -%}
        {%- if column not in compiled.funnels | map(attribute='column') | list -%}{%- do compiled.funnels.append(funnel) -%}{%- endif -%}
        {%- set sql = 'coalesce(facts.' ~ column ~ ', false)' -%}
        {%- do values.update({step_names[0] ~ ' at (latest)': 'facts.' ~ column ~ '_first_at', step_names[1] ~ ' at (next)': 'facts.' ~ column ~ '_then_at'}) -%}
        {%- set label = step_names[0] ~ (' then ' if completed else ' without ') ~ step_names[1] ~ ' within '
            ~ (within ~ (' hours' if 'within_hours' in node else ' days')) ~ cdp._audience_window_label({'window_days': node.get('window_days'), 'between': none}) -%}

    {%- elif 'in_audience' in node or 'not_in_audience' in node -%}
        {%- set kind = 'audience' -%}
        {%- do cdp._audience_check_keys(node, ['in_audience', 'not_in_audience', 'description'], file, path) -%}
        {%- set negated = 'not_in_audience' in node -%}
        {%- set other = node.get('not_in_audience') if negated else node.get('in_audience') -%}
        {%- if other is not string or not modules.re.match('^[a-z][a-z0-9_]*$', other) -%}
            {{ cdp.audience_error(file, path, "name the audience (its file name), got '" ~ other ~ "'") }}
        {%- endif -%}
        {%- if other == name -%}
            {{ cdp.audience_error(file, path, "an audience cannot be defined by its own membership (cycle " ~ name ~ " -> " ~ name ~ ")") }}
        {%- endif -%}
        {%- if other not in compiled.audiences -%}{%- do compiled.audiences.append(other) -%}{%- endif -%}
        {%- do compiled.setdefault('membership_paths', {}).setdefault(other, path) -%}
        {%- set sql = ('not ' if negated else '') ~ '@@member:' ~ other ~ '@@' -%}
        {%- do values.update({'member of ' ~ other: '@@member:' ~ other ~ '@@'}) -%}
        {%- set label = ('not in ' if negated else 'in ') ~ 'audience ' ~ other -%}

    {%- elif 'reachable' in node -%}
        {%- set kind = 'reachability' -%}
        {%- do cdp._audience_check_keys(node, ['reachable', 'description'], file, path) -%}
        {%- set channel = node.get('reachable') -%}
        {%- set identifiers = var('identity_identifiers', {}).keys() | list -%}
        {%- if channel not in identifiers -%}
            {{ cdp.audience_error(file, path, "reachable must name an identifier type (" ~ identifiers | join(', ') ~ "), got '" ~ channel ~ "'") }}
        {%- endif -%}
        {%- set sql = 'profiles.' ~ channel ~ ' is not null' -%}
        {%- do values.update({'has ' ~ channel: sql}) -%}
        {%- set label = 'reachable by ' ~ channel -%}

    {%- elif 'account' in node -%}
        {%- set kind = 'account' -%}
        {%- do cdp._audience_check_keys(node, ['account', 'description'], file, path) -%}
        {#- One trait condition, or a list that must all hold on the same account. -#}
        {%- set inner = node.get('account') -%}
        {%- set tests = [inner] if inner is mapping else inner -%}
        {%- if tests is none or tests is string or tests is not sequence or tests | length == 0 -%}
            {{ cdp.audience_error(file, path, "account takes trait conditions on the person's account: {'account': {'trait': ..., 'op': ..., 'value': ...}} or a list of them (all on the same account)") }}
        {%- endif -%}
        {%- set parts = [] -%}
        {%- set labels = [] -%}
        {%- set linked = ' from @@account_links@@ as account_links inner join @@account_traits@@ as account_traits on account_traits.account_id = account_links.account_id where account_links.profile_id = traits.profile_id' -%}
        {%- for test in tests -%}
            {%- set where = path ~ '.account' ~ ('[' ~ loop.index0 ~ ']' if inner is not mapping else '') -%}
            {%- if test is not mapping or 'trait' not in test -%}
                {{ cdp.audience_error(file, where, "an account condition is {'trait': ..., 'op': ..., 'value': ...}, got '" ~ test ~ "'") }}
            {%- endif -%}
            {%- do cdp._audience_check_keys(test, ['trait', 'op', 'value'], file, where) -%}
            {%- if test.trait not in cdp.account_trait_names() -%}
                {{ cdp.audience_error(file, where, "unknown account trait '" ~ test.trait ~ "' (known: " ~ cdp.account_trait_names() | join(', ') ~ ")") }}
            {%- endif -%}
            {%- do parts.append(cdp.audience_comparison('account_traits.' ~ test.trait, test.get('op'), test.get('value'), file, where)) -%}
            {%- do labels.append(test.trait ~ ' ' ~ test.get('op') ~ ' ' ~ test.get('value') | tojson) -%}
            {%- do values.update({'account ' ~ test.trait: '(select ' ~ dbt.listagg("account_links.account_id || '=' || coalesce(cast(account_traits." ~ test.trait ~ ' as ' ~ dbt.type_string() ~ "), 'null')", "', '") ~ linked ~ ')'}) -%}
        {%- endfor -%}
        {%- set sql = 'exists (select 1' ~ linked ~ ' and ' ~ parts | join(' and ') ~ ')' -%}
        {%- set label = "the person's account: " ~ labels | join(' and ') -%}

    {%- else -%}
        {{ cdp.audience_error(file, path, "unknown kind of condition " ~ node.keys() | list ~ " (known: trait, identify_trait, performed, did_not_perform, aggregate, funnel, in_audience, not_in_audience, reachable, account, all, any, none)") }}
    {%- endif -%}
    {%- set passed = 'coalesce(' ~ sql ~ ', false)' -%}
    {%- do compiled.checks.append({'path': path, 'kind': kind, 'label': label, 'description': description, 'sql': passed, 'values': values}) -%}
    {{ return(passed) }}
{%- endmacro %}

{#- Membership cycles through several files, refused while dbt parses (dbt itself only finds cycles when it
    links the graph, in ls/compile/build). Each audience file records the audiences it names, with the
    condition naming them, in a registry kept in `graph` (the manifest's flat graph: one dict for the whole
    parse, and saved with partial parsing, so files not re-parsed keep their entries); the file being
    parsed then follows the registry from itself. An entry left by a deleted file can only close a cycle
    through an audience no file may name any more (naming it fails the parse anyway). -#}
{% macro _audience_refuse_cycles(name, file, named) -%}
    {%- if execute -%}{{ return(none) }}{%- endif -%}
    {%- set registry = graph.setdefault('cdp_audience_memberships', {}) -%}
    {%- do registry.update({name: {'file': file, 'named': named}}) -%}
    {#- Breadth-first from this audience, keeping the path that reached each audience. -#}
    {%- set reached = {name: []} -%}
    {%- set queue = [name] -%}
    {%- for _ in range(registry | length + 1) if queue -%}
        {%- set current = queue.pop(0) -%}
        {%- for other, path in (registry.get(current, {}).get('named', {})).items() -%}
            {%- set step = reached[current] + [(current, other, path)] -%}
            {%- if other == name -%}
                {%- set hops = [] -%}
                {%- for source, target, where in step -%}
                    {%- do hops.append(registry[source].file ~ " (condition " ~ where ~ ": " ~ source ~ " -> " ~ target ~ ")") -%}
                {%- endfor -%}
                {{ cdp.audience_error(file, named[step[0][1]], "membership cycle " ~ ([name] + step | map(attribute=1) | list) | join(' -> ') ~ ": " ~ hops | join(', ')) }}
            {%- endif -%}
            {%- if other not in reached -%}
                {%- do reached.update({other: step}) -%}
                {%- do queue.append(other) -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endfor -%}
{%- endmacro %}

{#- A per-profile event aggregate, named by its SQL so identical aggregates of any audiences share a column. -#}
{% macro _audience_fact(compiled, aggregate, events) -%}
    {%- set column = 'event_' ~ local_md5(aggregate)[:12] -%}
    {%- if column not in compiled.facts | map(attribute='column') | list -%}
        {%- do compiled.facts.append({'column': column, 'sql': aggregate, 'events': events}) -%}
    {%- endif -%}
    {{ return(column) }}
{%- endmacro %}

{% macro _audience_window_label(window) -%}
    {%- if window.window_days -%}{{ return(' in the last ' ~ window.window_days ~ ' days') }}
    {%- elif window.between -%}{{ return(' between ' ~ window.between[0] ~ ' and ' ~ window.between[1]) }}
    {%- else -%}{{ return('') }}
    {%- endif -%}
{%- endmacro %}

{#- Every audience declared in the project (from the graph, so only while executing), ordered so an
    audience comes after the audiences its conditions name. -#}
{% macro audience_specs() -%}
    {%- set specs = {} -%}
    {%- if execute -%}
        {%- for node in graph.nodes.values() if node.resource_type == 'model' and node.config.meta.get('audience') -%}
            {%- do specs.update({node.name: node.config.meta.audience}) -%}
        {%- endfor -%}
    {%- endif -%}
    {%- set ordered = [] -%}
    {%- set placed = [] -%}
    {%- for round in range(specs | length) -%}
        {%- for name in specs | sort if name not in placed -%}
            {%- if specs[name].audiences | reject('in', placed) | list | length == 0 -%}
                {%- do ordered.append(specs[name]) -%}
                {%- do placed.append(name) -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endfor -%}
    {%- if placed | length != specs | length -%}
        {{ exceptions.raise_compiler_error("Audiences with circular membership conditions: " ~ specs.keys() | reject('in', placed) | list | join(', ')) }}
    {%- endif -%}
    {{ return(ordered) }}
{%- endmacro %}

{#- The compiled SQL of an audience with its placeholders filled for evaluation inside dbt. -#}
{#- Placeholders filled for evaluation inside dbt: membership of another audience is its flag column in the
    shared evaluation (`members.in__NAME`), or, in an audience's own view, its view. -#}
{% macro audience_fill(sql, members='shared') -%}
    {%- set filled = sql | replace('@@as_of@@', cdp.as_of()) -%}
    {%- if '@@account_' in filled -%}
        {%- set filled = filled | replace('@@account_links@@', ref('profile_accounts') | string)
            | replace('@@account_traits@@', ref('account_traits') | string) -%}
    {%- endif -%}
    {%- if members == 'view' -%}
        {{ return(modules.re.sub('@@member:([a-z0-9_]+)@@', '(traits.profile_id in (select profile_id from members__\\1))', filled)) }}
    {%- endif -%}
    {{ return(modules.re.sub('@@member:([a-z0-9_]+)@@', 'coalesce(members.in__\\1, false)', filled)) }}
{%- endmacro %}

{% macro audience_json_object(pairs) -%}
    {{ return(adapter.dispatch('audience_json_object', 'cdp')(pairs)) }}
{%- endmacro %}

{% macro default__audience_json_object(pairs) -%}
    {%- if not pairs -%}{{ return("cast('{}' as " ~ dbt.type_string() ~ ")") }}{%- endif -%}
    {%- set parts = [] -%}
    {%- for key, expression in pairs -%}{%- do parts.append("'" ~ key ~ "', " ~ expression) -%}{%- endfor -%}
    {{ return('cast(json_object(' ~ parts | join(', ') ~ ') as ' ~ dbt.type_string() ~ ')') }}
{%- endmacro %}

{#- Spark has no json_object: to_json of a struct, nulls kept, timestamps written as DuckDB writes them
    (space-separated, the fraction without trailing zeros). -#}
{% macro spark__audience_json_object(pairs) -%}
    {%- if not pairs -%}{{ return("cast('{}' as " ~ dbt.type_string() ~ ")") }}{%- endif -%}
    {%- set parts = [] -%}
    {%- for key, expression in pairs -%}{%- do parts.append("'" ~ key ~ "', " ~ expression) -%}{%- endfor -%}
    {%- set json = "to_json(named_struct(" ~ parts | join(', ') ~ "), map('ignoreNullFields', 'false', "
        ~ "'timestampNTZFormat', 'yyyy-MM-dd HH:mm:ss.SSSSSS', 'timestampFormat', 'yyyy-MM-dd HH:mm:ss.SSSSSS'))" -%}
    {%- set trailing_zeros -%}'(\\d{2}:\\d{2}:\\d{2}(\\.\\d*[1-9])?)\\.?0*"', '$1"'{%- endset -%}
    {{ return("regexp_replace(" ~ json ~ ", " ~ trailing_zeros ~ ")") }}
{%- endmacro %}

