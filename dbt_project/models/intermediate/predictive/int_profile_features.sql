{#- Features of every profile at two moments, from the same SQL: `training` at the cutoff (var
    `predictive_cutoff_days` before as_of) with its labels from the windows after it, and `scoring` at
    as_of (labels null). The Dagster asset `profile_predictions` trains on the first and scores the second. -#}
{%- set brands = cdp.predictive_brands() -%}
{%- set goals = cdp.predictive_goals() -%}
{%- set label_days = [90] + goals | map(attribute='horizon_days') | list -%}

with

events as (

    select * from {{ ref('int_events_resolved') }}

),

profiles as (

    select profile_id from {{ ref('profiles') }}

),

cutoffs as (

    select 'scoring' as feature_set, {{ cdp.as_of() }} as features_at
    union all
    select 'training' as feature_set, {{ cdp.feature_cutoff() }} as features_at

),

event_facts as (

    select
        profile_id,
        event_name,
        event_at,
        case when event_name = 'Order Completed'
            then coalesce({{ cdp.try_cast(cdp.json_text('properties', '$.revenue'), dbt.type_numeric()) }}, 0)
        end as revenue,
        {{ cdp.json_text('properties', '$.brand') }} as brand,
        {{ cdp.json_text('properties', '$.plan') }} as plan,
        case
            when lower({{ cdp.json_text('context', '$.os.name') }}) in ('ios', 'android') then 1
            when lower({{ cdp.json_text('context', '$.device.type') }}) in ('ios', 'android') then 1
            else 0
        end as is_mobile
        {%- for goal in goals %},
        case when {{ cdp.predictive_goal_condition(goal) }} then 1 else 0 end as is_goal_{{ goal.name }}
        {%- endfor %}
    from events

),

profile_cutoffs as (

    select profiles.profile_id, cutoffs.feature_set, cutoffs.features_at
    from profiles
    cross join cutoffs

),

aggregated as (

    select
        profile_cutoffs.profile_id,
        profile_cutoffs.feature_set,
        profile_cutoffs.features_at,
        count(case when event_at <= features_at then 1 end) as events_total,
        min(case when event_at <= features_at then event_at end) as first_event_at,
        max(case when event_at <= features_at then event_at end) as last_event_at,
        max(case when event_at <= features_at and event_name = 'Order Completed' then event_at end) as last_order_at,
        count(case when {{ cdp.feature_window('event_at', 'features_at', 30) }} then 1 end) as events_30d,
        count(case when {{ cdp.feature_window('event_at', 'features_at', 90) }} then 1 end) as events_90d,
        count(distinct case when {{ cdp.feature_window('event_at', 'features_at', 7) }}
            then cast(event_at as date) end) as active_days_7d,
        count(distinct case when {{ cdp.feature_window('event_at', 'features_at', 30) }}
            then cast(event_at as date) end) as active_days_30d,
        count(distinct case when {{ cdp.feature_window('event_at', dbt.dateadd('day', -30, 'features_at'), 30) }}
            then cast(event_at as date) end) as active_days_prev_30d,
        count(case when event_name = 'Logged In' and {{ cdp.feature_window('event_at', 'features_at', 30) }} then 1 end) as logins_30d,
        {%- for days in [7, 30, 90] %}
        count(case when event_name = 'Product Viewed' and {{ cdp.feature_window('event_at', 'features_at', days) }} then 1 end) as product_views_{{ days }}d,
        {%- endfor %}
        {%- for days in [30, 90] %}
        count(case when event_name = 'Order Completed' and {{ cdp.feature_window('event_at', 'features_at', days) }} then 1 end) as orders_{{ days }}d,
        coalesce(sum(case when {{ cdp.feature_window('event_at', 'features_at', days) }} then revenue end), 0) as revenue_{{ days }}d,
        count(case when event_name = 'Support Ticket Opened' and {{ cdp.feature_window('event_at', 'features_at', days) }} then 1 end) as support_tickets_{{ days }}d,
        {%- endfor %}
        count(case when event_name = 'Order Completed' and event_at <= features_at then 1 end) as orders_total,
        coalesce(sum(case when event_at <= features_at then revenue end), 0) as revenue_total,
        avg(case when event_at <= features_at then revenue end) as avg_order_value,
        coalesce(avg(case when {{ cdp.feature_window('event_at', 'features_at', 90) }} then is_mobile end), 0) as mobile_share,
        {%- for brand in brands %}
        {%- set slug = cdp.predictive_slug(brand) %}
        coalesce(count(case when event_name = 'Order Completed' and brand = {{ cdp.trait_literal(brand) }}
            and {{ cdp.feature_window('event_at', 'features_at', 90) }} then 1 end) * 1.0
            / nullif(count(case when event_name = 'Order Completed' and {{ cdp.feature_window('event_at', 'features_at', 90) }} then 1 end), 0), 0)
            as order_share_{{ slug }},
        coalesce(count(case when event_name = 'Product Viewed' and brand = {{ cdp.trait_literal(brand) }}
            and {{ cdp.feature_window('event_at', 'features_at', 90) }} then 1 end) * 1.0
            / nullif(count(case when event_name = 'Product Viewed' and {{ cdp.feature_window('event_at', 'features_at', 90) }} then 1 end), 0), 0)
            as view_share_{{ slug }},
        {%- endfor %}
        {{ cdp.last_value_by('plan', 'event_at', "event_name in ('Trial Started', 'Subscription Started') and event_at <= features_at") }} as plan,
        count(case when event_name = 'Subscription Started' and event_at <= features_at then 1 end) > 0 as has_subscribed,
        -- labels: what happened in the windows after the moment
        count(case when {{ cdp.feature_window('event_at', 'features_at', -30) }} then 1 end) as next_events_30d,
        count(case when event_name = 'Order Completed' and {{ cdp.feature_window('event_at', 'features_at', -30) }} then 1 end) as next_orders_30d,
        coalesce(sum(case when {{ cdp.feature_window('event_at', 'features_at', -90) }} then revenue end), 0) as next_revenue_90d
        {%- for brand in brands %},
        count(case when event_name = 'Order Completed' and brand = {{ cdp.trait_literal(brand) }}
            and {{ cdp.feature_window('event_at', 'features_at', -90) }} then 1 end) as next_orders_{{ cdp.predictive_slug(brand) }}_90d
        {%- endfor %}
        {%- for goal in goals %},
        count(case when is_goal_{{ goal.name }} = 1 and {{ cdp.feature_window('event_at', 'features_at', -1 * goal.horizon_days) }} then 1 end) as next_{{ goal.name }}
        {%- endfor %}
    from profile_cutoffs
    left join event_facts
        on event_facts.profile_id = profile_cutoffs.profile_id
        and event_facts.event_at <= {{ dbt.dateadd('day', label_days | max, 'profile_cutoffs.features_at') }}
    group by profile_cutoffs.profile_id, profile_cutoffs.feature_set, profile_cutoffs.features_at

),

final as (

    select
        profile_id,
        feature_set,
        features_at,
        events_total,
        {{ dbt.datediff('first_event_at', 'features_at', 'day') }} as tenure_days,
        {{ dbt.datediff('last_event_at', 'features_at', 'day') }} as days_since_last_event,
        {{ dbt.datediff('last_order_at', 'features_at', 'day') }} as days_since_last_order,
        events_30d,
        events_90d,
        active_days_7d,
        active_days_30d,
        active_days_prev_30d,
        logins_30d,
        product_views_7d,
        product_views_30d,
        product_views_90d,
        orders_30d,
        orders_90d,
        orders_total,
        revenue_30d,
        revenue_90d,
        revenue_total,
        avg_order_value,
        support_tickets_30d,
        support_tickets_90d,
        mobile_share,
        {%- for brand in brands %}
        order_share_{{ cdp.predictive_slug(brand) }},
        view_share_{{ cdp.predictive_slug(brand) }},
        {%- endfor %}
        plan,
        has_subscribed,
        {#- Labels exist only for the training moment; `scoring` lies in the future of the data. #}
        case when feature_set = 'training' then next_events_30d = 0 end as label_churned_30d,
        case when feature_set = 'training' then next_orders_30d > 0 end as label_purchased_30d,
        case when feature_set = 'training' then next_revenue_90d end as label_revenue_90d
        {%- for brand in brands %},
        case when feature_set = 'training' then next_orders_{{ cdp.predictive_slug(brand) }}_90d > 0 end
            as label_bought_{{ cdp.predictive_slug(brand) }}_90d
        {%- endfor %}
        {%- for goal in goals %},
        case when feature_set = 'training' then next_{{ goal.name }} > 0 end as label_goal_{{ goal.name }}
        {%- endfor %}
    from aggregated

)

select * from final
