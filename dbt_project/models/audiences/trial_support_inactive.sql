{#- Conditions are data (model meta), so `cdp why trial_support_inactive IDENTIFIER` can check a profile
    against each one; the where clause below is generated from the same list. Every condition reads a
    column of profile_traits; a null trait value fails its condition. -#}
{%- set conditions = [
    {'trait': 'has_started_trial', 'op': '=', 'value': true, 'description': 'started a trial'},
    {'trait': 'support_ticket_count', 'op': '>', 'value': 0, 'description': 'contacted support'},
    {'trait': 'has_subscribed', 'op': '=', 'value': false, 'description': 'never subscribed'},
    {'trait': 'days_since_last_seen', 'op': '>=', 'value': 30, 'description': 'inactive for 30 days'},
] -%}
{{ config(meta={
    'audience': {
        'name': 'trial_support_inactive',
        'description': 'Trial users who contacted support, never subscribed and have been inactive for 30 days.',
        'key': 'profile_id',
        'conditions': conditions,
    }
}) }}

with

traits as (

    select * from {{ ref('profile_traits') }}

),

profiles as (

    select * from {{ ref('profiles') }}

),

final as (

    select
        traits.profile_id,
        profiles.email,
        profiles.user_id,
        traits.lifetime_value,
        traits.days_since_last_seen
    from traits
    inner join profiles on profiles.profile_id = traits.profile_id
    where
        {%- for condition in conditions %}
        {{ 'and ' if not loop.first }}coalesce(traits.{{ condition.trait }} {{ '<>' if condition.op == '!=' else condition.op }} {{ cdp.trait_literal(condition.value) }}, false)
        {%- endfor %}

)

select * from final
