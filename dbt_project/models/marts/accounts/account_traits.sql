{#- Account-level traits at the evaluation moment (var `as_of`), over the events of the account's people:
    spend and orders over 365 days, support tickets over 30 days and tickets still open (opened and not
    closed). Audiences read them through {'account': {...}} conditions ("the person's account ..."). -#}

with

accounts as (

    select * from {{ ref('accounts') }}

),

links as (

    select * from {{ ref('profile_accounts') }}

),

events as (

    select profile_id, event_name, event_at, properties
    from {{ ref('int_events_resolved') }}
    where event_name in ('Order Completed', 'Support Ticket Opened', 'Support Ticket Closed')
        and event_at <= {{ cdp.as_of() }}

),

member_events as (

    select links.account_id, events.*
    from events
    inner join links on links.profile_id = events.profile_id

),

activity as (

    select
        account_id,
        sum(case when event_name = 'Order Completed' and event_at > {{ dbt.dateadd('day', -365, cdp.as_of()) }}
            then {{ cdp.try_cast(cdp.json_text('properties', '$.revenue'), dbt.type_numeric()) }} end) as spend_365d,
        count(case when event_name = 'Order Completed' and event_at > {{ dbt.dateadd('day', -365, cdp.as_of()) }}
            then 1 end) as orders_365d,
        count(case when event_name = 'Support Ticket Opened' and event_at > {{ dbt.dateadd('day', -30, cdp.as_of()) }}
            then 1 end) as support_tickets_30d,
        count(case when event_name = 'Support Ticket Opened' then 1 end)
            - count(case when event_name = 'Support Ticket Closed' then 1 end) as ticket_balance
    from member_events
    group by account_id

),

final as (

    select
        accounts.account_id,
        accounts.name,
        accounts.industry,
        accounts.employees,
        accounts.plan,
        accounts.members,
        coalesce(activity.spend_365d, 0) as spend_365d,
        coalesce(activity.orders_365d, 0) as orders_365d,
        coalesce(activity.support_tickets_30d, 0) as support_tickets_30d,
        greatest(coalesce(activity.ticket_balance, 0), 0) as open_support_tickets
    from accounts
    left join activity on activity.account_id = accounts.account_id

)

select
    account_id, name, industry, employees, plan, members, spend_365d, orders_365d, support_tickets_30d,
    open_support_tickets
from final
