{#- The identity rules from the `# identity` vars block, validated and normalised into one dict:
      identifiers: {id_type: {priority, limit, window_days, max_degree, json: [(column, path)], external}}
      external_default: the rule for context.externalIds types not declared
      blocked_values, blocked_patterns, phone_country_codes
    Bad configuration fails `dbt parse` and `dbt build` with a message naming the entry. -#}


{% macro identity_fail(entry, problem) -%}
    {{ exceptions.raise_compiler_error("identity configuration: " ~ entry ~ ": " ~ problem) }}
{%- endmacro %}

{% macro identity_check_rule(name, rule) -%}
    {%- set known_keys = ['priority', 'limit', 'window_days', 'max_degree', 'json', 'external'] -%}
    {%- if rule is not mapping -%}
        {{ identity_fail("identity_identifiers." ~ name, "expected a mapping like {priority: 2, limit: 5}, got " ~ rule) }}
    {%- endif -%}
    {%- for key in rule -%}
        {%- if key not in known_keys -%}
            {{ identity_fail("identity_identifiers." ~ name, "unknown setting '" ~ key ~ "' (allowed: " ~ known_keys | join(', ') ~ ")") }}
        {%- endif -%}
    {%- endfor -%}
    {%- if rule.get('priority') is none or rule.get('priority') is not number or rule.get('priority') < 1 -%}
        {{ identity_fail("identity_identifiers." ~ name ~ ".priority", "must be an integer >= 1 (1 is the strongest), got " ~ rule.get('priority')) }}
    {%- endif -%}
    {%- for key in ['limit', 'window_days', 'max_degree'] -%}
        {%- set value = rule.get(key) -%}
        {%- if value is not none and (value is not number or value is boolean or value < 1 or value != value | int) -%}
            {{ identity_fail("identity_identifiers." ~ name ~ "." ~ key, "must be a positive integer or null (no limit), got " ~ value) }}
        {%- endif -%}
    {%- endfor -%}
    {%- if rule.get('window_days') is not none and rule.get('limit') is none -%}
        {{ identity_fail("identity_identifiers." ~ name ~ ".window_days", "a window needs a limit (e.g. limit: 5, window_days: 7)") }}
    {%- endif -%}
{%- endmacro %}

{#- Catches the malformed patterns a reviewer would miss (unbalanced brackets, dangling quantifier or
    escape), then lets Python's compiler reject anything subtler (it raises with its own message). -#}
{% macro identity_check_pattern(index, pattern) -%}
    {%- set entry = "identity_blocked_patterns[" ~ index ~ "] '" ~ pattern ~ "'" -%}
    {%- if pattern is not string or pattern | length == 0 -%}
        {{ identity_fail(entry, "must be a non-empty regular expression string") }}
    {%- endif -%}
    {%- set state = namespace(depth=0, in_class=false, escaped=false, previous='') -%}
    {%- for char in pattern -%}
        {%- if state.escaped -%}
            {%- set state.escaped = false -%}{%- set char = 'x' -%}
        {%- elif char == '\\' -%}
            {%- set state.escaped = true -%}
        {%- elif state.in_class -%}
            {%- if char == ']' -%}{%- set state.in_class = false -%}{%- endif -%}
        {%- elif char == '[' -%}
            {%- set state.in_class = true -%}
        {%- elif char == '(' -%}
            {%- set state.depth = state.depth + 1 -%}
        {%- elif char == ')' -%}
            {%- set state.depth = state.depth - 1 -%}
            {%- if state.depth < 0 -%}{{ identity_fail(entry, "has a ')' without a matching '('") }}{%- endif -%}
        {%- elif char in ['*', '+', '?'] and state.previous in ['', '(', '|'] -%}
            {{ identity_fail(entry, "has a quantifier '" ~ char ~ "' with nothing to repeat") }}
        {%- endif -%}
        {%- set state.previous = char -%}
    {%- endfor -%}
    {%- if state.escaped -%}{{ identity_fail(entry, "ends with a lone backslash") }}{%- endif -%}
    {%- if state.in_class -%}{{ identity_fail(entry, "has a '[' without a closing ']'") }}{%- endif -%}
    {%- if state.depth > 0 -%}{{ identity_fail(entry, "has a '(' without a closing ')'") }}{%- endif -%}
    {%- do modules.re.compile(pattern) -%}
{%- endmacro %}

{% macro identity_rules() -%}
    {%- set builtin = ['user_id', 'anonymous_id', 'email', 'phone', 'device_id', 'advertising_id'] -%}
    {%- set declared = var('identity_identifiers', {}) -%}
    {%- if declared is not mapping or declared | length == 0 -%}
        {{ identity_fail("identity_identifiers", "must map each identifier type to its rule, e.g. user_id: {priority: 1, limit: 1}") }}
    {%- endif -%}
    {%- set identifiers = {} -%}
    {%- for name, rule in declared.items() -%}
        {%- if not modules.re.match('^[a-z][a-z0-9_]*$', name) -%}
            {{ identity_fail("identity_identifiers." ~ name, "identifier types are lower-case snake_case names") }}
        {%- endif -%}
        {{ identity_check_rule(name, rule) }}
        {%- set paths = [] -%}
        {%- for path in rule.get('json') or [] -%}
            {%- set parts = (path | string).split('.', 1) -%}
            {%- if parts | length != 2 or parts[0] not in ['traits', 'context', 'properties'] or parts[1] | length == 0 -%}
                {{ identity_fail("identity_identifiers." ~ name ~ ".json", "'" ~ path ~ "' must look like traits.some_field, context.traits.some_field or properties.some_field") }}
            {%- endif -%}
            {%- do paths.append((parts[0], '$.' ~ parts[1])) -%}
        {%- endfor -%}
        {%- if name not in builtin and paths | length == 0 and not rule.get('external') -%}
            {{ identity_fail("identity_identifiers." ~ name, "unknown identifier type: not one of " ~ builtin | join(', ') ~ "; declare where it comes from with json: [traits." ~ name ~ "] or external: true (a context.externalIds type)") }}
        {%- endif -%}
        {%- do identifiers.update({name: {
            'priority': rule.get('priority') | int,
            'limit': rule.get('limit'),
            'window_days': rule.get('window_days'),
            'max_degree': rule.get('max_degree'),
            'json': paths,
            'external': rule.get('external', false),
        }}) -%}
    {%- endfor -%}
    {%- for name in ['user_id', 'anonymous_id'] -%}
        {%- if name not in identifiers -%}
            {{ identity_fail("identity_identifiers", "must declare a rule for " ~ name) }}
        {%- endif -%}
    {%- endfor -%}
    {%- set external_default = var('identity_external_id_rule', {'priority': 3, 'limit': none}) -%}
    {{ identity_check_rule('(identity_external_id_rule)', external_default) }}
    {%- set blocked_values = var('identity_blocked_values', []) -%}
    {%- for value in blocked_values -%}
        {%- if value is not string -%}
            {{ identity_fail("identity_blocked_values[" ~ loop.index0 ~ "]", "must be a quoted string, got " ~ value) }}
        {%- endif -%}
    {%- endfor -%}
    {%- set blocked_patterns = var('identity_blocked_patterns', []) -%}
    {%- for pattern in blocked_patterns -%}
        {{ identity_check_pattern(loop.index0, pattern) }}
    {%- endfor -%}
    {%- set strategy = var('identity_components_strategy', 'loop') -%}
    {%- if strategy not in ['loop', 'unrolled'] -%}
        {{ identity_fail("identity_components_strategy", "must be 'loop' (rounds until no edge is left) or 'unrolled', got " ~ strategy) }}
    {%- endif -%}
    {%- set max_rounds = var('identity_max_rounds', 64) -%}
    {%- if max_rounds is not number or max_rounds < 1 -%}
        {{ identity_fail("identity_max_rounds", "must be a positive integer, got " ~ max_rounds) }}
    {%- endif -%}
    {{ return({
        'identifiers': identifiers,
        'external_default': {'priority': external_default.get('priority') | int, 'limit': external_default.get('limit'),
                             'window_days': external_default.get('window_days'), 'max_degree': external_default.get('max_degree')},
        'blocked_values': blocked_values | map('lower') | list,
        'blocked_patterns': blocked_patterns,
        'phone_country_codes': var('identity_phone_country_codes', {}),
        'phone_default_country': (var('identity_phone_default_country', none) or '') | upper,
        'strategy': strategy,
        'max_rounds': max_rounds | int,
    }) }}
{%- endmacro %}

{#- A SQL `case` giving the rule attribute `key` for an id_type column (external ids take the default rule). -#}
{% macro identity_rule_case(id_type_column, key) -%}
    {%- set rules = identity_rules() -%}
    case {{ id_type_column }}
    {%- for name, rule in rules.identifiers.items() %}
        when '{{ name }}' then {{ 'null' if rule[key] is none else rule[key] }}
    {%- endfor %}
        else {{ 'null' if rules.external_default[key] is none else rules.external_default[key] }}
    end
{%- endmacro %}
