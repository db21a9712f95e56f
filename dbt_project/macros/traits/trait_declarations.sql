{#- Trait declarations: the `traits` var (dbt_project.yml, block `# traits`), checked and normalised.
    Read at parse time, so a bad declaration stops `dbt build` before anything runs, with a message that
    names the trait and the field. -#}

{% macro trait_types() -%}
    {{ return({
        'counter': {'needs_property': false, 'default_type': 'integer'},
        'exists': {'needs_property': false, 'default_type': 'boolean'},
        'sum': {'needs_property': true, 'default_type': 'number'},
        'avg': {'needs_property': true, 'default_type': 'number'},
        'min': {'needs_property': true, 'default_type': 'number'},
        'max': {'needs_property': true, 'default_type': 'number'},
        'most_frequent': {'needs_property': true, 'default_type': 'text'},
        'first': {'needs_property': true, 'default_type': 'text'},
        'last': {'needs_property': true, 'default_type': 'text'},
        'unique_list': {'needs_property': true, 'default_type': 'text'},
        'unique_list_count': {'needs_property': true, 'default_type': 'text'},
        'days_since_last': {'needs_property': false, 'default_type': 'integer'},
        'days_since_first': {'needs_property': false, 'default_type': 'integer'},
    }) }}
{%- endmacro %}

{#- Event columns a trait may read with `column:` instead of a `property:` of the event. -#}
{% macro trait_event_columns() -%}
    {{ return(['event_at', 'event_name', 'event_type', 'page_name', 'source', 'group_id', 'received_at']) }}
{%- endmacro %}

{% macro trait_filter_operators() -%}
    {{ return(['=', '!=', '>', '>=', '<', '<=', 'in', 'not_in', 'contains', 'exists', 'not_exists']) }}
{%- endmacro %}

{% macro trait_error(trait_name, field, message) -%}
    {{ exceptions.raise_compiler_error(
        "Bad trait declaration '" ~ trait_name ~ "' (var `traits` in dbt_project.yml): field '"
        ~ field ~ "' " ~ message) }}
{%- endmacro %}

{%- macro _is_whole_number(value) -%}
    {{ return(value is number and value is not boolean and value == (value | int)) }}
{%- endmacro -%}

{%- macro _is_iso_date(value) -%}
    {{ return(modules.re.match('^[0-9]{4}-[0-9]{2}-[0-9]{2}$', value | string) is not none) }}
{%- endmacro -%}

{%- macro _check_path(name, field, path) -%}
    {%- if path is not string or not modules.re.match('^[A-Za-z_][A-Za-z0-9_]*([.][A-Za-z_][A-Za-z0-9_]*)*$', path) -%}
        {{ cdp.trait_error(name, field, "must be a property path like 'revenue' or 'product.brand', got '" ~ path ~ "'") }}
    {%- endif -%}
{%- endmacro -%}

{#- One declaration, checked; returns it with defaults filled in. -#}
{% macro normalise_trait(raw, position) -%}
    {%- if raw is not mapping -%}
        {{ exceptions.raise_compiler_error("Bad trait declaration #" ~ position ~ " (var `traits`): each entry must be a mapping with at least `name` and `type`") }}
    {%- endif -%}
    {%- set name = raw.get('name') -%}
    {%- if name is not string or not modules.re.match('^[a-z_][a-z0-9_]*$', name) -%}
        {{ exceptions.raise_compiler_error("Bad trait declaration #" ~ position ~ " (var `traits`): field 'name' must be a lower-case column name, got '" ~ name ~ "'") }}
    {%- endif -%}
    {%- set known_fields = ['name', 'type', 'event', 'property', 'column', 'value_type', 'window_days', 'between',
                            'where', 'description', 'default', 'not_null', 'accepted_range'] -%}
    {%- for field in raw -%}
        {%- if field not in known_fields -%}
            {{ cdp.trait_error(name, field, "is not a trait field (known: " ~ known_fields | join(', ') ~ ")") }}
        {%- endif -%}
    {%- endfor -%}

    {%- set types = cdp.trait_types() -%}
    {%- set type = raw.get('type') -%}
    {%- if type not in types -%}
        {{ cdp.trait_error(name, 'type', "must be one of " ~ types.keys() | list | join(', ') ~ ", got '" ~ type ~ "'") }}
    {%- endif -%}

    {#- Which events count: one name, a list, or '*' for every event (recency traits default to every event). -#}
    {%- set event = raw.get('event', '*' if type.startswith('days_since') else none) -%}
    {%- if event is none or (event is string and event | trim == '') -%}
        {{ cdp.trait_error(name, 'event', "is missing: name the event to count (or '*' for every event)") }}
    {%- endif -%}
    {%- set events = [event] if event is string else event -%}
    {%- if events is not sequence or events | length == 0 -%}
        {{ cdp.trait_error(name, 'event', "must be an event name or a list of event names") }}
    {%- endif -%}
    {%- for one in events -%}
        {%- if one is not string or one | trim == '' -%}
            {{ cdp.trait_error(name, 'event', "must hold event names (text), got '" ~ one ~ "'") }}
        {%- endif -%}
    {%- endfor -%}

    {#- What value is read: a property of the event (a path into `properties`) or an event column. -#}
    {%- set property = raw.get('property') -%}
    {%- set column = raw.get('column') -%}
    {%- if property is not none and column is not none -%}
        {{ cdp.trait_error(name, 'property', "and 'column' are exclusive: give one") }}
    {%- endif -%}
    {%- if types[type].needs_property and property is none and column is none -%}
        {{ cdp.trait_error(name, 'property', "is missing: a " ~ type ~ " trait needs the property (or event column) it reads") }}
    {%- endif -%}
    {%- if property is not none -%}{{ cdp._check_path(name, 'property', property) }}{%- endif -%}
    {%- if column is not none and column not in cdp.trait_event_columns() -%}
        {{ cdp.trait_error(name, 'column', "must be one of " ~ cdp.trait_event_columns() | join(', ') ~ ", got '" ~ column ~ "'") }}
    {%- endif -%}

    {%- set value_type = raw.get('value_type', 'timestamp' if column in ['event_at', 'received_at'] else types[type].default_type) -%}
    {%- if value_type not in ['number', 'integer', 'text', 'timestamp', 'boolean'] -%}
        {{ cdp.trait_error(name, 'value_type', "must be one of number, integer, text, timestamp, boolean, got '" ~ value_type ~ "'") }}
    {%- endif -%}

    {#- The time window: the last N days up to the evaluation moment, or between two dates (inclusive). -#}
    {%- set window_days = raw.get('window_days') -%}
    {%- set between = raw.get('between') -%}
    {%- if window_days is not none and (not cdp._is_whole_number(window_days) or window_days < 1) -%}
        {{ cdp.trait_error(name, 'window_days', "must be a whole number of days (1 or more), got '" ~ window_days ~ "'") }}
    {%- endif -%}
    {%- if between is not none -%}
        {%- if window_days is not none -%}
            {{ cdp.trait_error(name, 'between', "and 'window_days' are exclusive: give one window") }}
        {%- endif -%}
        {%- if between is string or between is not sequence or between | length != 2
              or not cdp._is_iso_date(between[0]) or not cdp._is_iso_date(between[1]) -%}
            {{ cdp.trait_error(name, 'between', "must be two dates [YYYY-MM-DD, YYYY-MM-DD], got '" ~ between ~ "'") }}
        {%- endif -%}
        {%- if between[0] | string > between[1] | string -%}
            {{ cdp.trait_error(name, 'between', "starts after it ends: " ~ between) }}
        {%- endif -%}
    {%- endif -%}

    {#- Property filters: a mapping {property: value} (equality) or a list of {property, op, value}. -#}
    {%- set raw_where = raw.get('where', []) -%}
    {%- set filters = [] -%}
    {%- if raw_where is mapping -%}
        {%- for key, value in raw_where.items() -%}
            {%- do filters.append({'property': key, 'op': '=', 'value': value}) -%}
        {%- endfor -%}
    {%- elif raw_where is sequence and raw_where is not string -%}
        {%- for item in raw_where -%}
            {%- if item is not mapping or 'property' not in item -%}
                {{ cdp.trait_error(name, 'where', "entries need at least `property` (and `op`, `value`), got '" ~ item ~ "'") }}
            {%- endif -%}
            {%- do filters.append({'property': item['property'], 'op': item.get('op', '='), 'value': item.get('value')}) -%}
        {%- endfor -%}
    {%- else -%}
        {{ cdp.trait_error(name, 'where', "must be a mapping {property: value} or a list of {property, op, value}") }}
    {%- endif -%}
    {%- for item in filters -%}
        {{ cdp._check_path(name, 'where', item.property) }}
        {%- if item.op not in cdp.trait_filter_operators() -%}
            {{ cdp.trait_error(name, 'where', "operator '" ~ item.op ~ "' on '" ~ item.property ~ "' is not one of " ~ cdp.trait_filter_operators() | join(', ')) }}
        {%- endif -%}
        {%- if item.op in ['in', 'not_in'] and (item.value is string or item.value is not sequence) -%}
            {{ cdp.trait_error(name, 'where', "operator '" ~ item.op ~ "' on '" ~ item.property ~ "' needs a list value") }}
        {%- endif -%}
        {%- if item.op not in ['exists', 'not_exists', 'in', 'not_in'] and item.value is none -%}
            {{ cdp.trait_error(name, 'where', "operator '" ~ item.op ~ "' on '" ~ item.property ~ "' needs a value") }}
        {%- endif -%}
    {%- endfor -%}

    {%- set description = raw.get('description') -%}
    {%- if description is not string or description | trim == '' -%}
        {{ cdp.trait_error(name, 'description', "is missing: every trait says what it means") }}
    {%- endif -%}

    {%- set accepted_range = raw.get('accepted_range', {}) -%}
    {%- if accepted_range is not mapping or (accepted_range.keys() | reject('in', ['min', 'max']) | list) -%}
        {{ cdp.trait_error(name, 'accepted_range', "must be a mapping with `min` and/or `max`") }}
    {%- endif -%}
    {%- for bound in accepted_range.values() -%}
        {%- if bound is not number -%}
            {{ cdp.trait_error(name, 'accepted_range', "bounds must be numbers, got '" ~ bound ~ "'") }}
        {%- endif -%}
    {%- endfor -%}

    {#- Counts and flags are never null: a profile with no matching event has 0 or false. -#}
    {%- set implicit_default = 0 if type in ['counter', 'unique_list_count'] else (false if type == 'exists' else none) -%}
    {%- set default = raw.get('default', implicit_default) -%}
    {{ return({
        'name': name,
        'type': type,
        'events': events,
        'property': property,
        'column': column,
        'value_type': value_type,
        'window_days': window_days,
        'between': between,
        'filters': filters,
        'description': description,
        'default': default,
        'not_null': raw.get('not_null', default is not none),
        'accepted_range': accepted_range,
    }) }}
{%- endmacro %}

{#- Every declared trait, checked and normalised; names must be unique. -#}
{% macro trait_declarations(declared=none) -%}
    {%- set declared = var('traits', []) if declared is none else declared -%}
    {%- if declared is mapping or declared is string or declared is not sequence -%}
        {{ exceptions.raise_compiler_error("var `traits` must be a list of trait declarations") }}
    {%- endif -%}
    {%- set traits = [] -%}
    {%- set seen = [] -%}
    {%- for raw in declared -%}
        {%- set trait = cdp.normalise_trait(raw, loop.index) -%}
        {%- if trait.name in seen -%}
            {{ cdp.trait_error(trait.name, 'name', "is declared twice") }}
        {%- endif -%}
        {%- do seen.append(trait.name) -%}
        {%- do traits.append(trait) -%}
    {%- endfor -%}
    {{ return(traits) }}
{%- endmacro %}

{#- Post-hook: each declared trait's description as its column comment, so the warehouse (and the
    catalog `dbt docs generate` reads) documents traits that are only declared in YAML. -#}
{% macro comment_trait_columns(relation) -%}
    {%- if execute -%}
        {%- set columns = {} -%}
        {%- for trait in cdp.trait_declarations() -%}
            {%- do columns.update({trait.name: {'name': trait.name, 'description': trait.description, 'quote': false}}) -%}
        {%- endfor -%}
        {{ alter_column_comment(relation, columns) }}
    {%- endif -%}
{%- endmacro %}
