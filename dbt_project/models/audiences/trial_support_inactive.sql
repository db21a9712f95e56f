{{ cdp.audience(
    description='Trial users who contacted support, never subscribed and have been inactive for 30 days.',
    conditions={'all': [
        {'trait': 'has_started_trial', 'op': '=', 'value': true, 'description': 'started a trial'},
        {'trait': 'support_ticket_count', 'op': '>', 'value': 0, 'description': 'contacted support'},
        {'trait': 'has_subscribed', 'op': '=', 'value': false, 'description': 'never subscribed'},
        {'trait': 'days_since_last_seen', 'op': '>=', 'value': 30, 'description': 'inactive for 30 days'},
    ]},
    payload=['lifetime_value', 'days_since_last_seen'],
) }}
